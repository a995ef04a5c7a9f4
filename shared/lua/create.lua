-- Write new queued task records (the gateway's group commit: one call per batch), each
-- checked first against its owner's limits, and put each one in its owner's wait set.
-- KEYS: each task's hash, then the deadlines and queued sorted sets.
-- ARGV: now_ms, prefix, idempotency_ttl_s, list_max, list_ttl_s, then per task: task_id,
-- owner, request (JSON), deadline_ms, weight, max_active, max_queued, rate (submits per
-- second), burst (a limit of 0 is none), where (keys.waiting_where: a country code, 'any'
-- or 'node'), idempotency key (keys.idempotency, '' for none), request fingerprint;
-- then (task index, webhook JSON) pairs, for the tasks that have a webhook.
-- Returns, per task, 'ok', or '<limit> <retry after, ms>' when it was refused (limit:
-- max_queued, max_active or rate) and nothing was written for it, or, for a task whose
-- idempotency key is taken, 'replay <task id>' (same fingerprint) or 'mismatch <task
-- id>' (another request), nothing written either: the key is checked before the limits
-- (a replay takes no token) and taken only by a task written (a refusal leaves it free).
-- Every task written goes into its owner's task list (keys.owner_tasks), by submit
-- sequence, trimmed to its newest list_max, the list expiring list_ttl_s after the last.
-- Repeat-safe: a record that exists is left alone, indexes, limits and token bucket
-- included. Task ids are new, so an existing one was written by this same call, run
-- before (redis-py resends a script whose reply was late or whose connection dropped),
-- and the scheduler may have placed or finished it since: writing it again would put it
-- back to queued with no attempts.
local FIELDS = 12
local n, now_ms, prefix = #KEYS - 2, tonumber(ARGV[1]), ARGV[2]
local idem_ttl, list_max, list_ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local fair, state = prefix .. 'fair', prefix .. 'fair:state'
local results, by_deadline, by_creation, written, listed = {}, {}, {}, 0, {}
-- After the tasks' fields: pairs of (task index, webhook JSON) for tasks with a webhook,
-- kept in the record's own 'webhook' field, outside the request (shared/webhooks.py).
local webhooks = {}
for j = 6 + n * FIELDS, #ARGV, 2 do
  webhooks[tonumber(ARGV[j])] = ARGV[j + 1]
end

-- The token bucket: the refusal's retry delay (ms), or nil after taking a token.
local function take_token(owner, rate, burst)
  if rate <= 0 then return nil end
  local key = prefix .. 'bucket:' .. owner
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = burst
  if b[1] then
    tokens = math.min(burst, tonumber(b[1]) + math.max(0, now_ms - tonumber(b[2])) * rate / 1000)
  end
  if tokens < 1 then
    return math.ceil((1 - tokens) * 1000 / rate)
  end
  redis.call('HSET', key, 'tokens', tostring(tokens - 1), 'at', now_ms)
  redis.call('PEXPIRE', key, math.ceil(burst * 1000 / rate) + 1000)
  return nil
end

for i = 1, n do
  local a = 6 + (i - 1) * FIELDS
  local task_id, owner, request, deadline = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local weight, max_active = ARGV[a + 4], tonumber(ARGV[a + 5])
  local max_queued, rate, burst = tonumber(ARGV[a + 6]), tonumber(ARGV[a + 7]), tonumber(ARGV[a + 8])
  local where = ARGV[a + 9]
  local idem, fingerprint = ARGV[a + 10], ARGV[a + 11]
  local wait_key = prefix .. 'wait:' .. owner
  local refused, prior
  local exists = redis.call('EXISTS', KEYS[i]) == 1
  if idem ~= '' and not exists then
    prior = redis.call('HMGET', idem, 'task_id', 'fingerprint')
  end
  if exists then
    refused = nil
  elseif prior and prior[1] then
    refused = (prior[2] == fingerprint and 'replay ' or 'mismatch ') .. prior[1]
  elseif max_queued > 0 and redis.call('ZCARD', wait_key) >= max_queued then
    refused = 'max_queued 1000'
  elseif max_active > 0 and redis.call('SCARD', prefix .. 'active:' .. owner) >= max_active then
    refused = 'max_active 1000'
  else
    local retry_ms = take_token(owner, rate, burst)
    if retry_ms then
      refused = 'rate ' .. retry_ms
    else
      redis.call('HSET', KEYS[i], 'owner', owner, 'status', 'queued', 'request', request,
        'created_ms', now_ms, 'deadline_ms', deadline, 'attempts', 0, 'where', where)
      if webhooks[i] then redis.call('HSET', KEYS[i], 'webhook', webhooks[i]) end
      written = written + 1
      by_deadline[2 * written - 1], by_deadline[2 * written] = deadline, task_id
      by_creation[2 * written - 1], by_creation[2 * written] = now_ms, task_id
      redis.call('HSET', state, 'w:' .. owner, weight, 'a:' .. owner, max_active)
      if not redis.call('ZSCORE', fair, owner) then
        -- Joining the fair queue: at the current virtual time, not before it (an owner
        -- idle for a while gets no credit for it) nor behind its own pass.
        local pass = math.max(tonumber(redis.call('HGET', state, 'pass:' .. owner) or '0'),
          tonumber(redis.call('HGET', state, 'vtime') or '0'))
        redis.call('ZADD', fair, pass, owner)
      end
      local seq = redis.call('HINCRBY', state, 'seq', 1)
      redis.call('ZADD', wait_key, seq, task_id)
      redis.call('ZADD', prefix .. 'waiting-where:' .. where, seq, task_id)
      redis.call('ZADD', prefix .. 'tasks:' .. owner, seq, task_id)
      listed[owner] = true
      if idem ~= '' then
        redis.call('HSET', idem, 'task_id', task_id, 'fingerprint', fingerprint)
        redis.call('EXPIRE', idem, idem_ttl)
      end
    end
  end
  results[i] = refused or 'ok'
end
-- Each owner's task list is trimmed and its expiry pushed back once per call, not per task.
for owner in pairs(listed) do
  local list = prefix .. 'tasks:' .. owner
  if redis.call('ZCARD', list) > list_max then
    redis.call('ZREMRANGEBYRANK', list, 0, -list_max - 1)
  end
  redis.call('EXPIRE', list, list_ttl)
end
if written > 0 then
  redis.call('ZADD', KEYS[n + 1], unpack(by_deadline))
  redis.call('ZADD', KEYS[n + 2], unpack(by_creation))
end
return results
