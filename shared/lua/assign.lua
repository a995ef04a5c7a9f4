-- KEYS: the task hash, then (optional) the session's affinity key.
-- ARGV: task_id, now_ms, prefix, initial ('1': first dispatch), affinity_ttl_s, then groups
-- of (node, queue, country, celery_id, replaces); replaces is the attempt a re-dispatch
-- stands in for, 0 for none.
-- Returns the first new attempt's number; 0 if the task is finished, -1 if missing,
-- -2 if an initial dispatch finds the task already dispatched (a duplicate message).
-- With an affinity key, a placement points the session at its first node; a duplicate
-- message, which places nothing, moves nothing either.
-- Repeat-safe: Celery ids are new for each placement, so an attempt that already has the
-- first placement's Celery id was recorded by this same call, run before (redis-py
-- resends a script whose reply was late or whose connection dropped). It answers that
-- attempt's number, as the first run did, so that the caller publishes the attempts it
-- placed, and records nothing more.
local task_key, task_id, now_ms, prefix, initial = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local affinity_ttl = tonumber(ARGV[5])
local status = redis.call('HGET', task_key, 'status')
if not status then return -1 end
if is_terminal(status) then return 0 end
local n = tonumber(redis.call('HGET', task_key, 'attempts') or '0')
if #ARGV >= 6 and ARGV[9] ~= '' then
  for i = 1, n do
    if redis.call('HGET', task_key, 'a' .. i .. ':celery_id') == ARGV[9] then return i end
  end
end
if initial == '1' and n > 0 then return -2 end
redis.call('ZREM', prefix .. 'queued', task_id)
local first = n + 1
for i = 6, #ARGV, 5 do
  n = n + 1
  local p = 'a' .. n .. ':'
  redis.call('HSET', task_key, p .. 'node', ARGV[i], p .. 'queue', ARGV[i + 1],
    p .. 'country', ARGV[i + 2], p .. 'celery_id', ARGV[i + 3], p .. 'state', 'assigned',
    p .. 'assigned_ms', now_ms, p .. 'replaces', ARGV[i + 4])
  redis.call('SADD', prefix .. 'node:' .. ARGV[i] .. ':attempts', task_id .. '|' .. n)
  redis.call('ZADD', prefix .. 'unpublished', now_ms, task_id .. '|' .. n)
end
redis.call('HSET', task_key, 'attempts', n)
if status == 'queued' then
  redis.call('HSET', task_key, 'status', 'assigned', 'assigned_ms', now_ms)
end
if KEYS[2] and affinity_ttl > 0 and #ARGV >= 6 then
  redis.call('SET', KEYS[2], ARGV[6], 'EX', affinity_ttl)
end
return first
