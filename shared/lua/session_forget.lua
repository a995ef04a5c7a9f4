-- Forget a session of a user's (DELETE /sessions/{key}): take it out of the index, and
-- remember when, so that a task of the session created before (running now, say) does
-- not put its state back when it ends (common.lua's end_session).
-- KEYS: the owner's session index (keys.sessions), the owner's forgotten sessions
-- (keys.forgotten_sessions). ARGV: the session key, now_ms, how long to remember (s).
-- Returns the entry it held (JSON), or nil. Repeat-safe: a second run finds nothing.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then redis.call('HDEL', KEYS[1], ARGV[1]) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return old
