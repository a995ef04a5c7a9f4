-- Forget a session of a user's (DELETE /sessions/{key}): take it out of the index.
-- KEYS: the owner's session index (keys.sessions). ARGV: the session key.
-- Returns the entry it held (JSON), or nil. Repeat-safe: a second run finds nothing.
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old then redis.call('HDEL', KEYS[1], ARGV[1]) end
return old
