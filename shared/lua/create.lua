-- Write new queued task records (the gateway's group commit: one call per batch).
-- KEYS: each task's hash, then the deadlines and queued sorted sets.
-- ARGV: now_ms, then per task: task_id, owner, request (JSON), deadline_ms.
-- Returns how many tasks it was given.
-- Repeat-safe: a record that exists is left alone, indexes included. Task ids are new, so
-- an existing one was written by this same call, run before (redis-py resends a script
-- whose reply was late or whose connection dropped), and the scheduler may have placed
-- or finished it since: writing it again would put it back to queued with no attempts.
local n, now_ms = #KEYS - 2, ARGV[1]
local by_deadline, by_creation, written = {}, {}, 0
for i = 1, n do
  local a = 2 + (i - 1) * 4
  local task_id, deadline = ARGV[a], ARGV[a + 3]
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'owner', ARGV[a + 1], 'status', 'queued', 'request', ARGV[a + 2],
      'created_ms', now_ms, 'deadline_ms', deadline, 'attempts', 0)
    written = written + 1
    by_deadline[2 * written - 1], by_deadline[2 * written] = deadline, task_id
    by_creation[2 * written - 1], by_creation[2 * written] = now_ms, task_id
  end
end
if written > 0 then
  redis.call('ZADD', KEYS[n + 1], unpack(by_deadline))
  redis.call('ZADD', KEYS[n + 2], unpack(by_creation))
end
return n
