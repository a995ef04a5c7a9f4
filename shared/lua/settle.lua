-- Fail a fanout task whose copies that ran have all failed, once no more of its copies
-- wait to be bound (the binder found no node left for them, and took it out of its
-- owner's wait set). KEYS[1]: the task hash. ARGV: task_id, now_ms, prefix, ttl_s.
-- Returns 1 if it failed the task; 0 if the task is finished or gone, an attempt is
-- still pending, or copies still wait.
-- Repeat-safe: a resend finds the task failed by the first run and answers 0.
local status = redis.call('HGET', KEYS[1], 'status')
if not status or is_terminal(status) then return 0 end
return settle(KEYS[1], ARGV[3], ARGV[1], ARGV[2], ARGV[4])
