-- A node reports an attempt's outcome. The first success wins the task.
-- ARGV: task_id, attempt, node, success ('1'/'0'), now_ms, prefix, payload, error, files_json, ttl_s,
-- egress_refused_json ('' when the egress policy refused nothing), llm_json (the language
-- model's calls and tokens; '' when none was called), agent_json (a success's planner, plan and
-- replay script; '' for none), artifacts_json (a failure's downloaded files and trace; '' for
-- none: a success lists them in its payload).
-- Returns 'won', 'failed', or 'fenced' (not this node's running attempt: never claimed,
-- cancelled, lost with its node, or already reported).
-- An attempt still running never belongs to a finished task: every script that ends a
-- task (fail, settle, a win) cancels its pending attempts in the same step. So a late
-- success after another attempt won, or after the task failed, is fenced here, and the
-- first success wins.
-- Repeat-safe: the same report again (redis-py resending the script after a late reply
-- or a dropped connection, or the node's own retry loop) finds the attempt ended by its
-- own report (marked 'reported') and answers what the first run did, changing nothing:
-- 'won' if this attempt is the winner and this is a success, 'failed' if this node's
-- report failed it with this same error. Anything else is fenced as before: only a
-- running attempt's report changes anything, so no late report can win.
local task_key = KEYS[1]
local task_id, n, node, success, now_ms, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local payload, err, files, ttl_s = ARGV[7], ARGV[8], ARGV[9], ARGV[10]
local egress_refused = ARGV[11] or ''
local llm = ARGV[12] or ''
local agent = ARGV[13] or ''
local artifacts = ARGV[14] or ''
local p = 'a' .. n .. ':'
local h = redis.call('HMGET', task_key, 'status', p .. 'state', p .. 'node', 'winner',
  p .. 'reported', p .. 'error')
if not h[1] then return 'fenced' end
if h[3] == node and h[5] then
  if success == '1' and h[2] == 'won' and tonumber(h[4]) == n then return 'won' end
  if success ~= '1' and h[2] == 'failed' and h[6] == err then return 'failed' end
end
if h[2] ~= 'running' or h[3] ~= node then return 'fenced' end
if egress_refused ~= '' then redis.call('HSET', task_key, p .. 'egress_refused', egress_refused) end
if llm ~= '' then redis.call('HSET', task_key, p .. 'llm', llm) end
if agent ~= '' then redis.call('HSET', task_key, p .. 'agent', agent) end
release(prefix, node, task_id, n, now_ms)
if success == '1' then
  redis.call('HSET', task_key, p .. 'state', 'won', p .. 'finished_ms', now_ms, p .. 'files', files,
    p .. 'reported', '1', 'status', 'completed', 'success', '1', 'payload', payload, 'winner', n,
    'finished_ms', now_ms)
  cancel_pending(task_key, prefix, task_id, now_ms, n)
  finalize(task_key, prefix, task_id, ttl_s)
  return 'won'
end
-- A failure keeps the names of the screenshots its attempt stored: a failed task shows them.
redis.call('HSET', task_key, p .. 'state', 'failed', p .. 'error', err, p .. 'finished_ms', now_ms,
  p .. 'files', files, p .. 'reported', '1')
if artifacts ~= '' then redis.call('HSET', task_key, p .. 'artifacts', artifacts) end
if not is_terminal(h[1]) then
  settle(task_key, prefix, task_id, now_ms, ttl_s)
end
return 'failed'
