-- Fail tasks that are not finished yet (cancel, timeout, no node), cancelling their attempts.
-- KEYS: the task hashes. ARGV: now_ms, prefix, ttl_s, only_if_queued ('1': leave a task
-- that was placed meanwhile alone), call_id, then per task: task_id, error.
-- Returns, per task, 1 if it failed the task, 0 if already finished (or placed), -1 if gone.
-- Repeat-safe: the same call again (redis-py resending the script after a late reply or
-- a dropped connection: the same call_id) finds the task failed by it and answers 1
-- again, changing nothing, so a cancel that worked is not answered "already finished";
-- another call (two scheduler passes failing one task, even in the same millisecond)
-- finds it finished and answers 0, so the failure is counted once.
local now_ms, prefix, ttl_s, only_if_queued = ARGV[1], ARGV[2], ARGV[3], ARGV[4] == '1'
local call_id = ARGV[5]
local results, failed_keys, failed_ids = {}, {}, {}
for i, task_key in ipairs(KEYS) do
  local task_id, err = ARGV[4 + 2 * i], ARGV[5 + 2 * i]
  local h = redis.call('HMGET', task_key, 'status', 'fail_call')
  local status = h[1]
  if not status then
    results[i] = -1
  elseif status == 'failed' and h[2] == call_id then
    results[i] = 1  -- this very call failed it
  elseif is_terminal(status) or (only_if_queued and status ~= 'queued') then
    results[i] = 0
  else
    cancel_pending(task_key, prefix, task_id, now_ms, 0)
    redis.call('HSET', task_key, 'status', 'failed', 'success', '0', 'error', err,
      'finished_ms', now_ms, 'fail_call', call_id)
    failed_keys[#failed_keys + 1], failed_ids[#failed_ids + 1] = task_key, task_id
    results[i] = 1
  end
end
if #failed_ids > 0 then
  finalize_many(prefix, 'failed', failed_keys, failed_ids, ttl_s)
end
return results
