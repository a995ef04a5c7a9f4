-- A node's heartbeat. KEYS: the nodes set, the node's hash, its browsers set.
-- ARGV: the node's uid, now (epoch ms), the channel that announces free slots.
-- Returns 0 and writes nothing when the node's registration is gone (Redis lost its
-- data), so that the node registers again; else stamps the heartbeat and returns 1.
-- The node is ready while any of its browsers is up.
-- Repeat-safe as it is: a resend writes the same values again and answers the same.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 or redis.call('HEXISTS', KEYS[2], 'uid') == 0 then
  return 0
end
local ready = 0
if redis.call('SCARD', KEYS[3]) > 0 then
  ready = 1
end
if ready == 1 and redis.call('HGET', KEYS[2], 'ready') ~= '1' and ARGV[3] then
  redis.call('PUBLISH', ARGV[3], ARGV[1])  -- ready again: waiting tasks may go to it
end
redis.call('HSET', KEYS[2], 'heartbeat_ms', ARGV[2], 'ready', ready)
return 1
