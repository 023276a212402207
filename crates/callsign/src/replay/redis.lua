-- callsign's replay store in Redis: one atomic check-and-record (SPEC.md §8.1).
-- The one copy of this script: the Rust store (crates/callsign/src/replay/redis.rs,
-- feature "redis") includes it, and pkg/build puts it in the npm package
-- (convex-callsign/stores).
--
-- KEYS[1]  the pair's key:  <prefix>n:<kid>:<nonce>
-- KEYS[2]  the watermark:   <prefix>watermark
-- ARGV[1]  ts, ms since the epoch (the call's signing time)
-- ARGV[2]  R, the retention in ms (at least every verifier's max_age)
--
-- Returns {status, watermark}: status 2 = accepted and recorded, 1 = already
-- recorded (a replay), 0 = ts at or before the watermark (possibly forgotten).
--
-- Records expire at server time ts + R + 1, a fixed function of ts; so every
-- record the server has forgotten by time t has ts <= t - R - 1, and the
-- watermark W = max(stored W, t - R - 1) covers it, on the server's one clock.
-- W is stored and only raised, so a server clock stepped back never lowers it.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ts = tonumber(ARGV[1])
local r = tonumber(ARGV[2])
local w = now - r - 1
local stored = tonumber(redis.call('GET', KEYS[2]))
if stored ~= nil and stored >= w then
  w = stored
else
  redis.call('SET', KEYS[2], string.format('%.0f', w))
end
if ts <= w then
  return {0, w}
end
local set = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PXAT', string.format('%.0f', ts + r + 1))
if set then
  return {2, w}
end
return {1, w}
