-- Fencing: a node moves its attempt from assigned to running, or learns it must drop it.
-- ARGV: attempt number, node uid, now_ms, egress, claim id (optional: new for each
-- delivery of the attempt's message, kept with the claim). Returns 'ok' or the reason
-- to drop.
-- Repeat-safe: redis-py sends a script again when its reply was late or the connection
-- dropped after the server ran it. The same call again (same node, same claim id) finds
-- its own claim and is 'ok' again, changing nothing; another delivery of the message
-- (the same Celery id, but another claim id, or none) is refused as before.
local task_key, n, node, now_ms, egress = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local claim_id = ARGV[5] or ''
local p = 'a' .. n .. ':'
local h = redis.call('HMGET', task_key, 'status', p .. 'state', p .. 'node', p .. 'claim')
if not h[1] then return 'missing' end
if is_terminal(h[1]) then return 'finished' end
if h[3] ~= node then return 'not-yours' end
if h[2] == 'running' and claim_id ~= '' and h[4] == claim_id then return 'ok' end
if h[2] ~= 'assigned' then return h[2] or 'unknown' end
redis.call('HSET', task_key, p .. 'state', 'running', p .. 'started_ms', now_ms, p .. 'egress', egress)
if claim_id ~= '' then redis.call('HSET', task_key, p .. 'claim', claim_id) end
if h[1] == 'queued' or h[1] == 'assigned' then
  redis.call('HSET', task_key, 'status', 'running', 'started_ms', now_ms)
end
return 'ok'
