-- Drop index entries that stand for nothing any more, after the maintenance loop found
-- them. KEYS: the index (the queued or the deadlines sorted set), then each task's hash.
-- ARGV: the index's kind ('queued' or 'deadlines'), then each task id.
-- A queued entry stays while its task is queued; a deadline entry while its task is
-- unfinished. Returns how many entries it dropped.
-- Repeat-safe as it is: a resend drops nothing more (it answers 0; no caller uses the count).
local kind, dropped = ARGV[1], 0
for i = 2, #KEYS do
  local status = redis.call('HGET', KEYS[i], 'status')
  local settled
  if kind == 'queued' then
    settled = status ~= 'queued'
  else
    settled = (not status) or is_terminal(status)
  end
  if settled then
    dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
  end
end
return dropped
