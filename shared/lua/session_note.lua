-- A node notes what an attempt did with its session's browser state (shared/sessionstate.py):
-- whether it loaded one, and the object it staged when it succeeded. The winner's note
-- is what end_session (common.lua) writes to the session index when the task ends.
-- KEYS: the task hash. ARGV: attempt, node, note (JSON).
-- Returns 1, or 0 (nothing written) when the attempt no longer runs on that node: a
-- fenced attempt's note must not reach the index. Repeat-safe: it writes the same field.
local p = 'a' .. ARGV[1] .. ':'
local h = redis.call('HMGET', KEYS[1], p .. 'state', p .. 'node')
if h[1] ~= 'running' or h[2] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], p .. 'session', ARGV[3])
return 1
