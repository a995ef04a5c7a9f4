-- What the scheduler binds from, in one round trip (scheduler/binding.py).
-- ARGV: prefix, max owners, heads per owner, then task ids to read as well (a batch
-- just submitted, to fail at once those no live node matches).
-- Returns {owners, records}: owners, lowest pass first, each as {owner, pass, weight,
-- max_active, active, waiting, heads}, heads being the owner's first waiting tasks in
-- submit order as {task_id, fields of its hash as a flat list}; records, per extra
-- task id, its hash's fields as a flat list (empty if gone).
-- A read: repeat-safe.
local prefix, max_owners, per_owner = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local state = prefix .. 'fair:state'
local owners = {}
local ranked = redis.call('ZRANGE', prefix .. 'fair', 0, max_owners - 1, 'WITHSCORES')
for i = 1, #ranked, 2 do
  local owner = ranked[i]
  local wait_key = prefix .. 'wait:' .. owner
  local heads = {}
  for _, task_id in ipairs(redis.call('ZRANGE', wait_key, 0, per_owner - 1)) do
    heads[#heads + 1] = {task_id, redis.call('HGETALL', prefix .. 'task:' .. task_id)}
  end
  owners[#owners + 1] = {owner, ranked[i + 1],
    redis.call('HGET', state, 'w:' .. owner) or '1',
    redis.call('HGET', state, 'a:' .. owner) or '0',
    redis.call('SCARD', prefix .. 'active:' .. owner),
    redis.call('ZCARD', wait_key), heads}
end
local records = {}
for i = 4, #ARGV do
  records[#records + 1] = redis.call('HGETALL', prefix .. 'task:' .. ARGV[i])
end
return {owners, records}
