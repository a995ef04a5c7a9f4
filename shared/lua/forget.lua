-- Forget a dead node: an operator retired it, and it should no longer be listed (nor
-- reported in metrics as down). KEYS: the nodes set, the node's hash, its browsers set,
-- its attempts set. ARGV: the node's uid, now (epoch ms), the heartbeat silence after
-- which a node is dead (ms).
-- Returns 'missing' (not registered), 'alive' (its heartbeat is fresh: stop it first),
-- 'busy <n>' (n attempts are still on it: the scheduler recovers them within a
-- maintenance pass), or 'forgotten'. One script, so a node that registers again between
-- the check and the delete cannot be lost: a fresh heartbeat answers 'alive'.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  return 'missing'
end
local heartbeat = tonumber(redis.call('HGET', KEYS[2], 'heartbeat_ms') or '0') or 0
if tonumber(ARGV[2]) - heartbeat <= tonumber(ARGV[3]) then
  return 'alive'
end
local attempts = redis.call('SCARD', KEYS[4])
if attempts > 0 then
  return 'busy ' .. attempts
end
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
return 'forgotten'
