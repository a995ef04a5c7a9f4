-- A node records one agent step of its attempt in the task's event stream.
-- KEYS: the task hash, the task's event stream.
-- ARGV: attempt, node, max entries kept, ms the stream outlives the task's deadline,
-- the channel to announce it on, task_id, the event (JSON).
-- Returns the entry id, or '' when the attempt is not this node's running attempt (the
-- task finished, the attempt was cancelled or lost): every step in the stream comes
-- before the task's terminal status, which is written only once no attempt runs.
local task_key, stream = KEYS[1], KEYS[2]
local p = 'a' .. ARGV[1] .. ':'
local h = redis.call('HMGET', task_key, p .. 'state', p .. 'node', 'deadline_ms')
if h[1] ~= 'running' or h[2] ~= ARGV[2] then return '' end
local id = redis.call('XADD', stream, 'MAXLEN', ARGV[3], '*', 'data', ARGV[7])
-- Kept as long as the record can be: its deadline plus the time a finished record stays.
redis.call('PEXPIREAT', stream, tonumber(h[3]) + tonumber(ARGV[4]))
redis.call('PUBLISH', ARGV[5], ARGV[6])
return id
