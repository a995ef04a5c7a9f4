-- Fencing: a node moves its attempt from assigned to running, or learns it must drop it.
-- ARGV: attempt number, node uid, now_ms, egress. Returns 'ok' or the reason to drop.
local task_key, n, node, now_ms, egress = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local p = 'a' .. n .. ':'
local h = redis.call('HMGET', task_key, 'status', p .. 'state', p .. 'node')
if not h[1] then return 'missing' end
if is_terminal(h[1]) then return 'finished' end
if h[3] ~= node then return 'not-yours' end
if h[2] ~= 'assigned' then return h[2] or 'unknown' end
redis.call('HSET', task_key, p .. 'state', 'running', p .. 'started_ms', now_ms, p .. 'egress', egress)
if h[1] == 'queued' or h[1] == 'assigned' then
  redis.call('HSET', task_key, 'status', 'running', 'started_ms', now_ms)
end
return 'ok'
