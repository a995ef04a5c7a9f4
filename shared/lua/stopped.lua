-- A cancelled attempt's browser context is closed. KEYS[1]: the task hash.
-- ARGV: attempt, now_ms. Writes nothing if the record is gone (expired), so that no
-- fragment of it is left without a TTL.
-- Repeat-safe as it is: a resend writes the same time again.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'a' .. ARGV[1] .. ':stopped_ms', ARGV[2])
return 1
