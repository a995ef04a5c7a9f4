-- Record one try of a webhook delivery (shared/webhooks.py).
-- KEYS: the outbox, the delivery's state hash.
-- ARGV: task_id, lease token, outcome ('retry', or final: 'delivered', 'stopped',
-- 'gave_up', 'refused', 'expired'), now_ms, HTTP status ('' when none), error,
-- next_try_ms (for 'retry'), ttl_s of the state.
-- Returns 1, or 0 when the lease is no longer the latest (another deliverer took the
-- entry over after it ran out): nothing is written then.
local outbox, state = KEYS[1], KEYS[2]
local task_id, token, outcome, now_ms = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local status, err, next_try_ms, ttl_s = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
if redis.call('HGET', state, 'lease') ~= token then return 0 end
if outcome ~= 'expired' then
  redis.call('HINCRBY', state, 'attempts', 1)
end
redis.call('HSET', state, 'last_status', status, 'last_error', err, 'last_try_ms', now_ms)
if outcome == 'retry' then
  redis.call('ZADD', outbox, 'XX', next_try_ms, task_id)
  redis.call('HSET', state, 'next_try_ms', next_try_ms)
else
  redis.call('ZREM', outbox, task_id)
  redis.call('HSET', state, 'result', outcome, 'next_try_ms', '')
  redis.call('HDEL', state, 'body')  -- no try will send it again
  if outcome == 'delivered' then
    redis.call('HSET', state, 'delivered_ms', now_ms)
  end
end
redis.call('EXPIRE', state, ttl_s)
return 1
