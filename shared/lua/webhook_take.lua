-- Take due webhook deliveries, each with a lease (shared/webhooks.py).
-- KEYS[1]: the outbox (task id -> due, epoch ms). ARGV: now_ms, lease_ms, limit, prefix.
-- Each entry taken is due again at now + lease: another deliverer takes it only once
-- the lease has run out (the deliverer that held it killed or stuck). Its state's
-- lease counter moves on, so a report under an older lease is refused.
-- Returns {task_id, token, first_due_ms, attempts so far} per entry taken, then the due time of the next
-- entry left (or false).
local outbox = KEYS[1]
local now_ms, lease_ms, limit, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local due = redis.call('ZRANGEBYSCORE', outbox, '-inf', now_ms, 'WITHSCORES', 'LIMIT', 0, limit)
local out = {}
for i = 1, #due, 2 do
  local task_id, score = due[i], due[i + 1]
  local state = prefix .. 'webhook:' .. task_id
  redis.call('ZADD', outbox, now_ms + lease_ms, task_id)
  redis.call('HSETNX', state, 'first_due_ms', score)
  local token = redis.call('HINCRBY', state, 'lease', 1)
  local h = redis.call('HMGET', state, 'first_due_ms', 'attempts')
  out[#out + 1] = {task_id, token, h[1], h[2] or '0'}
end
local next_due = redis.call('ZRANGE', outbox, 0, 0, 'WITHSCORES')
out[#out + 1] = next_due[2] or false
return out
