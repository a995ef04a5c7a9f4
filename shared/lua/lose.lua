-- The scheduler declares an attempt lost with its node.
-- ARGV: task_id, attempt, now_ms, prefix, error, ttl_s, settle ('1': fail the task if nothing else is pending).
-- Returns 1 if the attempt was pending and is now lost, 0 otherwise.
-- Repeat-safe: the same call again (redis-py resending the script after a late reply or
-- a dropped connection: the same now_ms and error) finds the attempt failed by it, not by
-- its node's report, and answers 1 again, changing nothing; the caller then replaces the
-- attempt as it would have. Any other call still finds the attempt no longer pending.
local task_key = KEYS[1]
local task_id, n, now_ms, prefix, err, ttl_s, do_settle = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local p = 'a' .. n .. ':'
local h = redis.call('HMGET', task_key, 'status', p .. 'state', p .. 'node', p .. 'error',
  p .. 'finished_ms', p .. 'reported')
if not h[1] then return 0 end
if h[2] == 'failed' and not h[6] and h[4] == err and h[5] == now_ms then return 1 end
if h[2] ~= 'assigned' and h[2] ~= 'running' then return 0 end
release(prefix, h[3], task_id, n, now_ms)
redis.call('HSET', task_key, p .. 'state', 'failed', p .. 'error', err, p .. 'finished_ms', now_ms)
redis.call('PUBLISH', prefix .. 'cancel', task_id .. ' ' .. n)
if do_settle == '1' and not is_terminal(h[1]) then
  settle(task_key, prefix, task_id, now_ms, ttl_s)
end
return 1
