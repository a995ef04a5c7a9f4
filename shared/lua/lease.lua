-- Take or renew a lease in one step: KEYS[1] the lease key; ARGV: holder, lease_ms.
-- Returns 1 if the caller holds the lease now, 0 if another holder has it. A renewal
-- split into GET then PEXPIRE could extend another holder's lease taken in between.
-- Repeat-safe as it is: a resend finds the caller holding the lease and renews it (1).
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
