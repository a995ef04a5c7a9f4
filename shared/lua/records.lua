-- Task records in one call (the scheduler's batch read): for each task hash in KEYS, its
-- fields as a flat field/value list, empty if the record is gone.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HGETALL', key)
end
return out
