-- Write new queued task records (the gateway's group commit: one call per batch).
-- KEYS: each task's hash, then the deadlines and queued sorted sets.
-- ARGV: now_ms, then per task: task_id, owner, request (JSON), deadline_ms.
local n, now_ms = #KEYS - 2, ARGV[1]
local deadlines, queued = KEYS[n + 1], KEYS[n + 2]
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local task_id, deadline = ARGV[a], ARGV[a + 3]
  redis.call('HSET', KEYS[i], 'owner', ARGV[a + 1], 'status', 'queued', 'request', ARGV[a + 2],
    'created_ms', now_ms, 'deadline_ms', deadline, 'attempts', 0)
  redis.call('ZADD', deadlines, deadline, task_id)
  redis.call('ZADD', queued, now_ms, task_id)
end
return n
