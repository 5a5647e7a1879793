/**
 * The GCRA of `src/policies/gcra.ts`, line for line in Lua, so a limit decided in Redis is the
 * limit the in-memory store decides. Integer microseconds throughout (exact in Lua's doubles, epoch
 * µs < 2^53); time comes from Redis `TIME`, so clock skew between nodes cannot over-admit. One
 * script per operation, each one atomic: no read-then-write race between processes, and the
 * write and its expiry are one `SET … PX`, so no key is ever left without a TTL.
 *
 * A bucket whose TAT has passed is a full bucket, so the key expires then (one millisecond later:
 * Redis counts expiry from its own whole millisecond, which may be up to 1 ms before `TIME`). A value that is
 * not a number (written by something else) is replaced by an empty bucket that refills at the
 * steady rate: never an accidental admission, never a key stuck forever.
 */
import { luaScript } from './redis-client.js';

// Numbers go to redis.call as they are: Redis writes them with 17 significant digits ("%.17g"),
// exact for integers below 2^53, and cheaper than string.format.
const PRELUDE = `local T = tonumber(ARGV[1])
local B = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local raw = redis.call('GET', KEYS[1])
local tat = 0
if raw then
  tat = tonumber(raw)
  if not tat then
    tat = now + B * T
    redis.call('SET', KEYS[1], tat, 'PX', math.ceil(B * T / 1000))
  end
end`;

/**
 * KEYS: the bucket. ARGV: T (µs), burst, cost, W (longest accepted wait, µs).
 * Returns {1, waitMs, remaining} when admitted, {0, retryAfterMs, remaining} when refused.
 */
export const TAKE_SCRIPT = luaScript(
  'bulwark-gcra-take',
  `${PRELUDE}
local base = tat
if now > base then base = now end
local newTat = base + tonumber(ARGV[3]) * T
local wait = newTat - B * T - now
local ok = wait <= tonumber(ARGV[4])
if ok then
  redis.call('SET', KEYS[1], newTat, 'PX', math.ceil((newTat - now) / 1000) + 1)
  base = newTat
end
local remaining = math.floor((now + B * T - base) / T)
if remaining < 0 then remaining = 0 elseif remaining > B then remaining = B end
if not ok then return {0, math.ceil(wait / 1000), remaining} end
if wait < 0 then wait = 0 end
return {1, math.ceil(wait / 1000), remaining}`,
);

/** KEYS: the bucket. ARGV: T (µs), burst, F (hold, µs). Nothing is granted before now + F. */
export const HOLD_SCRIPT = luaScript(
  'bulwark-gcra-hold',
  `${PRELUDE}
local held = now + tonumber(ARGV[3]) + (B - 1) * T
if held > tat and held > now then
  redis.call('SET', KEYS[1], held, 'PX', math.ceil((held - now) / 1000) + 1)
  return 1
end
return 0`,
);
