-- Write new queued task records (the gateway's group commit: one call per batch).
-- KEYS: each task's hash, then the deadlines and queued sorted sets.
-- ARGV: now_ms, then per task: task_id, owner, request (JSON), deadline_ms.
local n, now_ms = #KEYS - 2, ARGV[1]
local by_deadline, by_creation = {}, {}
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local task_id, deadline = ARGV[a], ARGV[a + 3]
  redis.call('HSET', KEYS[i], 'owner', ARGV[a + 1], 'status', 'queued', 'request', ARGV[a + 2],
    'created_ms', now_ms, 'deadline_ms', deadline, 'attempts', 0)
  by_deadline[2 * i - 1], by_deadline[2 * i] = deadline, task_id
  by_creation[2 * i - 1], by_creation[2 * i] = now_ms, task_id
end
redis.call('ZADD', KEYS[n + 1], unpack(by_deadline))
redis.call('ZADD', KEYS[n + 2], unpack(by_creation))
return n
