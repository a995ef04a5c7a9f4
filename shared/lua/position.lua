-- About how many tasks will be bound before a waiting task (its queue position).
-- KEYS[1]: the task hash. ARGV: prefix, task id, max owners looked at.
-- Returns -1 if the task is not waiting. Otherwise: the owner's own tasks ahead of it
-- (p), plus, for each other owner with waiting tasks, as many of theirs as fair share
-- binds while p + 1 of this owner's are: (p + 1) * their weight / this owner's weight,
-- at most what they have waiting. Owners whose pass is behind get a turn or so more in
-- truth; this is an estimate.
-- A read: repeat-safe.
local prefix, task_id, max_owners = ARGV[1], ARGV[2], tonumber(ARGV[3])
local owner = redis.call('HGET', KEYS[1], 'owner')
if not owner then return -1 end
local p = redis.call('ZRANK', prefix .. 'wait:' .. owner, task_id)
if not p then return -1 end
local state = prefix .. 'fair:state'
local weight = math.max(tonumber(redis.call('HGET', state, 'w:' .. owner) or '1'), 1)
local ahead = p
for _, other in ipairs(redis.call('ZRANGE', prefix .. 'fair', 0, max_owners - 1)) do
  if other ~= owner then
    local w = math.max(tonumber(redis.call('HGET', state, 'w:' .. other) or '1'), 1)
    local waiting = redis.call('ZCARD', prefix .. 'wait:' .. other)
    ahead = ahead + math.min(waiting, math.floor((p + 1) * w / weight))
  end
end
return ahead
