-- Count one more re-dispatch of a task. KEYS[1]: the task hash.
-- Returns the new count, or -1 (writing nothing) if the record is gone: a count alone
-- would otherwise stay in Redis with no TTL.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
return redis.call('HINCRBY', KEYS[1], 'redispatches', 1)
