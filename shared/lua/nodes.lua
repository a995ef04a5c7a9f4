-- Every registered node in one round trip: for each uid in the nodes set (KEYS[1]), its
-- hash as a flat field/value list, how many of its browsers are up, and how many
-- attempts are assigned to or running on it.
-- ARGV[1] is the key prefix (single-node Redis only, like the record scripts).
local out = {}
for _, uid in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local key = ARGV[1] .. 'node:' .. uid
  out[#out + 1] = redis.call('HGETALL', key)
  out[#out + 1] = redis.call('SCARD', key .. ':browsers')
  out[#out + 1] = redis.call('SCARD', key .. ':attempts')
end
return out
