-- One page of an owner's task list (GET /tasks), newest first.
-- KEYS[1]: the owner's task list (keys.owner_tasks: task id -> submit sequence).
-- ARGV: prefix, before (a sequence number: only older tasks; '' from the newest), limit,
-- statuses (comma-separated; '' for all), max_scan (entries looked at, at most).
-- Returns {next, page}: page holds {task id, its fields as a flat list} for up to limit
-- tasks whose status is wanted; next is the sequence number to pass as before for the
-- next page, or '' when no older task is left. Entries whose record has expired are
-- dropped from the list on the way. At most max_scan entries are looked at: a filter
-- that matches few tasks may give a short page (even an empty one) with a next.
-- New tasks have higher sequence numbers than any cursor: pages stay stable under them.
local list, prefix, before = KEYS[1], ARGV[1], ARGV[2]
local limit, statuses, max_scan = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
local wanted
if statuses ~= '' then
  wanted = {}
  for s in string.gmatch(statuses, '[^,]+') do wanted[s] = true end
end
local upper = before == '' and '+inf' or '(' .. before
local page, gone, scanned, next_seq, last_seq = {}, {}, 0, '', nil
local done = false
while not done and scanned < max_scan do
  local entries = redis.call('ZREVRANGEBYSCORE', list, upper, '-inf', 'WITHSCORES',
    'LIMIT', 0, math.min(limit + 1, max_scan - scanned))
  if #entries == 0 then
    next_seq = ''  -- the end of the list
    break
  end
  for j = 1, #entries, 2 do
    local task_id, seq = entries[j], entries[j + 1]
    scanned = scanned + 1
    upper = '(' .. seq
    local status = redis.call('HGET', prefix .. 'task:' .. task_id, 'status')
    if not status then
      gone[#gone + 1] = task_id
    elseif not wanted or wanted[status] then
      if #page == limit then
        -- One more beyond the page: the page's last is where the next one starts.
        next_seq, done = last_seq, true
        break
      end
      page[#page + 1] = {task_id, redis.call('HGETALL', prefix .. 'task:' .. task_id)}
      last_seq = seq
    end
    -- Out of budget: go on from what was looked at last.
    if scanned >= max_scan then next_seq = seq end
  end
end
if #gone > 0 then redis.call('ZREM', list, unpack(gone)) end
return {next_seq, page}
