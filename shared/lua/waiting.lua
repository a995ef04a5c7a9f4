-- What the scheduler binds from, in one round trip (scheduler/dispatch.py).
-- ARGV: prefix, max owners, heads per owner, now_ms, dead_after_ms, prefetch, heads to
-- read at least (the maintenance pass reads some even when no node has room, to fail
-- the tasks no live node matches any more), then task ids to read as well (a batch
-- just submitted, to fail at once those no live node matches).
-- Heads are read only as far as nodes have room for them: the free slots of live,
-- ready, undrained nodes not stopping (capacity + prefetch - attempts) are counted
-- first, and about twice that plus 8 heads are read in all, lowest pass first; none
-- when no node has room. Each owner not at its max_active gets one at least, so that
-- an owner whose tasks cannot go (their nodes busy or starting) does not use up the
-- read. So a freed slot costs a read of a few records per waiting owner, however long
-- the queues.
-- Returns {owners, records}: owners, lowest pass first, each as {owner, pass, weight,
-- max_active, active, waiting, heads}, heads being the owner's first waiting tasks in
-- submit order as {task_id, fields of its hash as a flat list}; records, per extra
-- task id, its hash's fields as a flat list (empty if gone).
-- A read: repeat-safe.
local prefix, max_owners, per_owner = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now_ms, dead_after_ms, prefetch = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local min_heads = tonumber(ARGV[7])
local state = prefix .. 'fair:state'
local room = 0
for _, uid in ipairs(redis.call('SMEMBERS', prefix .. 'nodes')) do
  local key = prefix .. 'node:' .. uid
  local h = redis.call('HMGET', key, 'heartbeat_ms', 'ready', 'drained', 'capacity', 'stopping')
  if h[2] == '1' and h[3] ~= '1' and h[5] ~= '1'
      and now_ms - tonumber(h[1] or '0') <= dead_after_ms then
    local free = tonumber(h[4] or '1') + prefetch - redis.call('SCARD', key .. ':attempts')
    if free > 0 then room = room + free end
  end
end
local budget = 0
if room > 0 then budget = 2 * room + 8 end
budget = math.max(budget, min_heads)
local owners = {}
local ranked = redis.call('ZRANGE', prefix .. 'fair', 0, max_owners - 1, 'WITHSCORES')
for i = 1, #ranked, 2 do
  local owner = ranked[i]
  local wait_key = prefix .. 'wait:' .. owner
  local max_active = tonumber(redis.call('HGET', state, 'a:' .. owner) or '0')
  local active = redis.call('SCARD', prefix .. 'active:' .. owner)
  local heads = {}
  -- An owner at max_active can be bound nothing new but the further copies of a fanout
  -- task it runs (its oldest waiting task): one read, outside the budget (unless this
  -- is a settling read). Every owner gets at least one task read while nodes have room,
  -- so that one whose tasks cannot go (busy or starting nodes) does not use up the read
  -- and leave the others' tasks beside a free slot.
  local take = 0
  if min_heads > 0 or max_active == 0 or active < max_active then
    take = math.min(per_owner, budget)
  end
  if take == 0 and room > 0 then take = 1 end  -- at max_active: a fanout task's copies

  if take > 0 then
    for _, task_id in ipairs(redis.call('ZRANGE', wait_key, 0, take - 1)) do
      heads[#heads + 1] = {task_id, redis.call('HGETALL', prefix .. 'task:' .. task_id)}
    end
    if take > 1 or budget > 0 then budget = math.max(budget - #heads, 0) end
  end
  owners[#owners + 1] = {owner, ranked[i + 1],
    redis.call('HGET', state, 'w:' .. owner) or '1',
    tostring(max_active), active, redis.call('ZCARD', wait_key), heads}
end
local records = {}
for i = 8, #ARGV do
  records[#records + 1] = redis.call('HGETALL', prefix .. 'task:' .. ARGV[i])
end
return {owners, records}
