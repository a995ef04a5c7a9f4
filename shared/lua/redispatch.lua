-- Count one more re-dispatch of a task. KEYS[1]: the task hash. ARGV[1] (optional): the
-- lost attempt the re-dispatch replaces.
-- Returns the new count, or -1 (writing nothing) if the record is gone: a count alone
-- would otherwise stay in Redis with no TTL.
-- Repeat-safe with ARGV[1]: each lost attempt is counted once, and asked again (redis-py
-- resending the script after a late reply or a dropped connection) the script answers the
-- count that attempt's loss gave, so a resend does not use up a retry.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[1] then
  local field = 'a' .. ARGV[1] .. ':redispatch'
  local counted = redis.call('HGET', KEYS[1], field)
  if counted then return tonumber(counted) end
  local count = redis.call('HINCRBY', KEYS[1], 'redispatches', 1)
  redis.call('HSET', KEYS[1], field, count)
  return count
end
return redis.call('HINCRBY', KEYS[1], 'redispatches', 1)
