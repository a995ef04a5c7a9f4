-- Fail a task that is not finished yet (cancel, timeout, no node), cancelling its attempts.
-- ARGV: task_id, now_ms, prefix, error, ttl_s, only_if_queued ('1': leave a task that was
-- placed meanwhile alone). Returns 1 if it failed the task, 0 if already finished (or placed).
local task_key, task_id, now_ms, prefix, err, ttl_s = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local status = redis.call('HGET', task_key, 'status')
if not status then return -1 end
if is_terminal(status) then return 0 end
if ARGV[6] == '1' and status ~= 'queued' then return 0 end
cancel_pending(task_key, prefix, task_id, now_ms, 0)
redis.call('HSET', task_key, 'status', 'failed', 'success', '0', 'error', err, 'finished_ms', now_ms)
finalize(task_key, prefix, task_id, ttl_s)
return 1
