-- Drop index entries that stand for nothing any more, after the maintenance loop or the
-- binder found them. KEYS: the index (the queued or the deadlines sorted set, or an
-- owner's wait set), then each task's hash.
-- ARGV: the index's kind ('queued', 'deadlines' or 'wait:<owner>'), then each task id.
-- A queued entry stays while its task is queued; a deadline or wait entry while its
-- task is unfinished (a fanout task waits, placed, until all its copies are bound).
-- Returns how many entries it dropped.
-- Repeat-safe as it is: a resend drops nothing more (it answers 0; no caller uses the count).
local kind, dropped = ARGV[1], 0
local owner = string.match(kind, '^wait:(.*)$')
local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #kind)
for i = 2, #KEYS do
  local status = redis.call('HGET', KEYS[i], 'status')
  local settled
  if kind == 'queued' then
    settled = status ~= 'queued'
  else
    settled = (not status) or is_terminal(status)
  end
  if settled then
    if owner then
      if redis.call('ZSCORE', KEYS[1], ARGV[i]) then dropped = dropped + 1 end
      unwait(prefix, owner, ARGV[i])
    else
      dropped = dropped + redis.call('ZREM', KEYS[1], ARGV[i])
    end
  end
end
return dropped
