-- Helpers shared by the task-record scripts. Prepended to each script at load time.
-- KEYS[1] is always the task hash. Node keys are derived from the prefix because an
-- attempt's node is only known from the record itself (single-node Redis only).
local function is_terminal(status)
  return status == 'completed' or status == 'failed'
end

-- A node's in-flight count is the size of its attempts set (read by nodes.lua): no
-- counter beside it that could drift.
-- A freed slot is announced, so that the scheduler binds the next waiting task to it,
-- and dated: among nodes as free as each other, the one whose slot freed longest ago
-- goes first (its process has finished preparing its next browser context).
local function release(prefix, node, task_id, n, now_ms)
  if redis.call('SREM', prefix .. 'node:' .. node .. ':attempts', task_id .. '|' .. n) == 1 then
    redis.call('HSET', prefix .. 'node:' .. node, 'released_ms', now_ms)
    redis.call('PUBLISH', prefix .. 'slots', node)
  end
end

-- Take a task out of its owner's wait set; an owner left with nothing waiting leaves the
-- fair queue, its pass kept for when it comes back (see keys.FAIR).
local function unwait(prefix, owner, task_id)
  local wait_key = prefix .. 'wait:' .. owner
  if redis.call('ZREM', wait_key, task_id) == 0 then return end
  local where = redis.call('HGET', prefix .. 'task:' .. task_id, 'where') or 'any'
  redis.call('ZREM', prefix .. 'waiting-where:' .. where, task_id)
  if redis.call('ZCARD', wait_key) == 0 then
    local pass = redis.call('ZSCORE', prefix .. 'fair', owner)
    if pass then
      redis.call('HSET', prefix .. 'fair:state', 'pass:' .. owner, pass)
      redis.call('ZREM', prefix .. 'fair', owner)
    end
  end
end

-- Mark every attempt still assigned or running as cancelled; tell the nodes.
local function cancel_pending(task_key, prefix, task_id, now_ms, except)
  local count = tonumber(redis.call('HGET', task_key, 'attempts') or '0')
  for i = 1, count do
    if i ~= except then
      local p = 'a' .. i .. ':'
      local s = redis.call('HMGET', task_key, p .. 'state', p .. 'node')
      if s[1] == 'assigned' or s[1] == 'running' then
        redis.call('HSET', task_key, p .. 'state', 'cancelled', p .. 'finished_ms', now_ms)
        redis.call('HINCRBY', prefix .. 'stats', 'attempts_cancelled', 1)
        release(prefix, s[2], task_id, i, now_ms)
        redis.call('PUBLISH', prefix .. 'cancel', task_id .. ' ' .. i)
      end
    end
  end
end

-- A task of a session ends (shared/sessionstate.py): the session's lock, taken when the
-- task was bound (assign.lua), is freed, and the browser state its winner staged, if it
-- noted one (session_note.lua), becomes the session's latest in its owner's index. Both
-- in the step that ends the task, so the session's next task is bound only after its
-- predecessor's state is in the index.
local function end_session(prefix, task_key, task_id, owner)
  local h = redis.call('HMGET', task_key, 'session_lock', 'winner')
  if h[1] and redis.call('GET', h[1]) == task_id then redis.call('DEL', h[1]) end
  if not h[2] then return end
  local raw = redis.call('HGET', task_key, 'a' .. h[2] .. ':session')
  if not raw then return end
  local ok, note = pcall(cjson.decode, raw)
  if not ok or type(note) ~= 'table' or type(note.object) ~= 'string'
      or type(note.session_key) ~= 'string' or type(note.expires_ms) ~= 'number' then
    return
  end
  -- A session forgotten after this task was created stays forgotten (session_forget.lua).
  local forgot = redis.call('HGET', prefix .. 'forgotten-sessions:' .. owner, note.session_key)
  if forgot and tonumber(redis.call('HGET', task_key, 'created_ms') or '0') <= tonumber(forgot) then
    return
  end
  local index = prefix .. 'sessions:' .. owner
  redis.call('HSET', index, note.session_key, cjson.encode({object = note.object,
    updated_ms = note.saved_ms, expires_ms = note.expires_ms, size = note.size,
    task_id = task_id}))
  redis.call('PEXPIREAT', index, string.format('%.0f', note.expires_ms))
end

-- Called once for tasks whose terminal status (the same for all) has just been written.
local function finalize_many(prefix, status, task_keys, task_ids, ttl_s)
  redis.call('HINCRBY', prefix .. 'stats', 'tasks_' .. status, #task_ids)
  redis.call('ZREM', prefix .. 'deadlines', unpack(task_ids))
  redis.call('ZREM', prefix .. 'queued', unpack(task_ids))
  local failures = prefix .. 'failures'  -- the operators' recent failures (keys.FAILURES)
  for i, task_key in ipairs(task_keys) do
    if status == 'failed' then
      local finished = redis.call('HGET', task_key, 'finished_ms') or '0'
      redis.call('ZADD', failures, finished, task_ids[i])
    end
    local owner = redis.call('HGET', task_key, 'owner')
    if owner then
      unwait(prefix, owner, task_ids[i])
      redis.call('SREM', prefix .. 'active:' .. owner, task_ids[i])
      end_session(prefix, task_key, task_ids[i], owner)
    end
    redis.call('EXPIRE', task_key, ttl_s)
    redis.call('PUBLISH', prefix .. 'done', task_ids[i])
    -- A webhook's delivery is put in the outbox in this same step (shared/webhooks.py),
    -- due at once: no crash can lose it between the two.
    if redis.call('HEXISTS', task_key, 'webhook') == 1 then
      local finished = redis.call('HGET', task_key, 'finished_ms')
      redis.call('ZADD', prefix .. 'webhooks:outbox', 'NX', finished, task_ids[i])
      redis.call('PUBLISH', prefix .. 'webhooks', task_ids[i])
    end
  end
  if status == 'failed' then  -- the newest 200 (keys.FAILURES_KEPT)
    redis.call('ZREMRANGEBYRANK', failures, 0, -201)
  end
end

local function finalize(task_key, prefix, task_id, ttl_s)
  finalize_many(prefix, redis.call('HGET', task_key, 'status'), {task_key}, {task_id}, ttl_s)
end

-- Fail the task if no attempt is pending any more; its error names every attempt's error.
-- A fanout task still in its owner's wait set is not failed: copies of it wait for a
-- node and may yet win (late binding binds them as slots free; see settle.lua).
local function settle(task_key, prefix, task_id, now_ms, ttl_s)
  local owner = redis.call('HGET', task_key, 'owner')
  if owner and redis.call('ZSCORE', prefix .. 'wait:' .. owner, task_id) then
    return 0
  end
  local count = tonumber(redis.call('HGET', task_key, 'attempts') or '0')
  local errors = {}
  for i = 1, count do
    local p = 'a' .. i .. ':'
    local s = redis.call('HMGET', task_key, p .. 'state', p .. 'node', p .. 'error')
    if s[1] == 'assigned' or s[1] == 'running' then
      return 0
    end
    if s[1] == 'failed' then
      table.insert(errors, {s[2], s[3] or ''})
    end
  end
  local message
  if #errors == 1 then
    message = errors[1][2]
  elseif #errors == 0 then
    message = 'no attempt finished'
  else
    local parts = {}
    for _, e in ipairs(errors) do
      table.insert(parts, e[1] .. ': ' .. e[2])
    end
    message = 'all ' .. #errors .. ' attempts failed: ' .. table.concat(parts, '; ')
  end
  redis.call('HSET', task_key, 'status', 'failed', 'success', '0', 'error', message,
    'finished_ms', now_ms)
  finalize(task_key, prefix, task_id, ttl_s)
  return 1
end
