-- Place attempts of a task on nodes.
-- KEYS: the task hash, then (optional) the session's affinity key, then (optional, with
-- the affinity key) the session's lock (keys.session_lock): a binding of a queued task
-- whose session's lock another task holds places nothing and returns -5; a placement
-- takes it until the task ends (end_session in common.lua; it also expires 10 minutes
-- past the task's deadline, should that ever be missed), so that a session's tasks run
-- one at a time.
-- ARGV: task_id, now_ms, prefix, mode, affinity_ttl_s, copies, attempts read ('' for
-- none), then groups of (node, queue, country, celery_id, replaces, limit).
--   mode 'bind': late binding of a waiting task (scheduler/binding.py). The task must be
--     in its owner's wait set and have as many attempts as the binder read (another
--     scheduler may have bound a copy of a fanout task since); each node must hold
--     fewer than its limit (capacity plus
--     prefetch; 0: no limit) of attempts; a task's first placement must keep its owner
--     within max_active. The task leaves the wait set once it has `copies` attempts
--     placed this way (its fanout), and its owner's pass moves on by one per attempt,
--     divided by the owner's weight.
--   mode 'replace': a re-dispatch standing in for a lost attempt (replaces > 0); it
--     skips the wait set and the limits.
-- Returns the first new attempt's number; 0 if the task is finished, -1 if missing,
-- -2 if a binding finds the task not waiting (bound already: a duplicate), -3 if a node
-- is full, -4 if the owner is at max_active, -5 if the session's lock is held.
-- With an affinity key, a placement points the session at its first node; a duplicate,
-- which places nothing, moves nothing either.
-- Repeat-safe: Celery ids are new for each placement, so an attempt that already has the
-- first placement's Celery id was recorded by this same call, run before (redis-py
-- resends a script whose reply was late or whose connection dropped). It answers that
-- attempt's number, as the first run did, so that the caller publishes the attempts it
-- placed, and records nothing more.
local GROUP, FIRST = 6, 8
local task_key, task_id, now_ms, prefix, mode = KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local affinity_ttl, copies, attempts_read = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local h = redis.call('HMGET', task_key, 'status', 'attempts', 'owner', 'copies')
local status = h[1]
if not status then return -1 end
if is_terminal(status) then return 0 end
local n = tonumber(h[2] or '0')
if #ARGV >= FIRST and ARGV[FIRST + 3] ~= '' then
  for i = 1, n do
    if redis.call('HGET', task_key, 'a' .. i .. ':celery_id') == ARGV[FIRST + 3] then return i end
  end
end
local owner = h[3]
local placed = (#ARGV - FIRST + 1) / GROUP
local state = prefix .. 'fair:state'
if mode == 'bind' then
  if not redis.call('ZSCORE', prefix .. 'wait:' .. owner, task_id) then return -2 end
  if attempts_read ~= '' and tonumber(attempts_read) ~= n then return -2 end
  for i = FIRST, #ARGV, GROUP do
    local limit = tonumber(ARGV[i + 5])
    if limit > 0 and redis.call('SCARD', prefix .. 'node:' .. ARGV[i] .. ':attempts') >= limit then
      return -3
    end
  end
  if status == 'queued' then
    local max_active = tonumber(redis.call('HGET', state, 'a:' .. owner) or '0')
    if max_active > 0 and redis.call('SCARD', prefix .. 'active:' .. owner) >= max_active then
      return -4
    end
    local holder = KEYS[3] and redis.call('GET', KEYS[3])
    if holder and holder ~= task_id then return -5 end
  end
end
redis.call('ZREM', prefix .. 'queued', task_id)
local first = n + 1
for i = FIRST, #ARGV, GROUP do
  n = n + 1
  local p = 'a' .. n .. ':'
  redis.call('HSET', task_key, p .. 'node', ARGV[i], p .. 'queue', ARGV[i + 1],
    p .. 'country', ARGV[i + 2], p .. 'celery_id', ARGV[i + 3], p .. 'state', 'assigned',
    p .. 'assigned_ms', now_ms, p .. 'replaces', ARGV[i + 4])
  redis.call('SADD', prefix .. 'node:' .. ARGV[i] .. ':attempts', task_id .. '|' .. n)
  redis.call('ZADD', prefix .. 'unpublished', now_ms, task_id .. '|' .. n)
end
redis.call('HSET', task_key, 'attempts', n)
if status == 'queued' then
  redis.call('HSET', task_key, 'status', 'assigned', 'assigned_ms', now_ms)
  if mode == 'bind' and KEYS[3] then
    local deadline = tonumber(redis.call('HGET', task_key, 'deadline_ms') or now_ms)
    local hold_ms = math.max(deadline - tonumber(now_ms), 0) + 600000
    redis.call('SET', KEYS[3], task_id, 'PX', string.format('%.0f', hold_ms))
    redis.call('HSET', task_key, 'session_lock', KEYS[3])
  end
end
redis.call('SADD', prefix .. 'active:' .. owner, task_id)
if mode == 'bind' then
  local total = redis.call('HINCRBY', task_key, 'copies', placed)
  local pass = tonumber(redis.call('ZSCORE', prefix .. 'fair', owner)
    or redis.call('HGET', state, 'pass:' .. owner) or '0')
  local weight = tonumber(redis.call('HGET', state, 'w:' .. owner) or '1')
  redis.call('HSET', state, 'vtime', tostring(pass))
  pass = pass + placed / math.max(weight, 1)
  if redis.call('ZSCORE', prefix .. 'fair', owner) then
    redis.call('ZADD', prefix .. 'fair', pass, owner)
  else
    redis.call('HSET', state, 'pass:' .. owner, tostring(pass))
  end
  if total >= copies then
    unwait(prefix, owner, task_id)
  end
end
if status == 'queued' then
  redis.call('PUBLISH', prefix .. 'events', task_id)  -- live step events: now assigned
end
if KEYS[2] and affinity_ttl > 0 and #ARGV >= FIRST then
  redis.call('SET', KEYS[2], ARGV[FIRST], 'EX', affinity_ttl)
end
return first
