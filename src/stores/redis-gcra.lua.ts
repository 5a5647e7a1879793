/**
 * The GCRA of `src/policies/gcra.ts` in Lua, so a limit decided in Redis is the limit the
 * in-memory store decides. Microseconds throughout (whole µs are exact in Lua's doubles, epoch
 * µs < 2^53); time comes from Redis `TIME`, so clock skew between nodes cannot over-admit. Each script
 * call is atomic: no read-then-write race between processes, and the write and its expiry are one
 * `SET … PX`, so no key is ever left without a TTL.
 *
 * The script is kept short because Redis interprets it on every decision: the caller passes the
 * products (c × T, B × T), the script returns the two µs quantities of the decision (wait and
 * debt) and `gcraDecision` turns them into milliseconds and remaining requests in JavaScript.
 *
 * A bucket whose TAT has passed is a full bucket, so the key expires then (one millisecond later:
 * Redis counts expiry from its own whole millisecond, which may be up to 1 ms before `TIME`), but
 * never sooner than {@link MIN_TTL_MS} after its last admission: a key kept past its TAT reads as
 * the same full bucket, and a busy key of a fast limit (1,000/s fills again within milliseconds)
 * is not deleted and recreated between two calls, which costs Redis more than the decision.
 *
 * The TAT is stored as 8 bytes, a little-endian IEEE double of µs (`struct.pack('<d')`; exact,
 * since epoch µs < 2^53), not as decimal text: Lua's only way to print a number is C's `sprintf`,
 * which cost Redis as much as a whole `redis.call` on every admission (about 2 µs of a 15 µs
 * script, measured cold at one decision in flight). A decimal value (written by hand, say) is
 * still read. Anything else, or a number that is no epoch time in µs, is replaced by an empty
 * bucket that refills at the steady rate: never an accidental admission, never a key stuck
 * forever. `sprintf` remains only for TTLs longer than the 1 s floor (long waits, holds,
 * repairs), which the common admission does not have.
 */
import { luaScript } from './redis-client.js';

/** Shortest life of a bucket key after an admission, ms. */
export const MIN_TTL_MS = 1_000;

/** Arguments each decision of a {@link TAKE_SCRIPT} call carries in ARGV. */
export const TAKE_ARGS = 4;

/** Numbers each decision gets back from a {@link TAKE_SCRIPT} call. */
export const TAKE_REPLY = 4;

/** How long a node counts as sharing a limit after its last presence beat, ms. */
export const PRESENCE_MS = 3_000;

const NOW = `local t = redis.call('TIME')
local now = t[1] * 1000000 + t[2]
local fmt = string.format`;

// The stored TAT of KEYS[i] as a debt (max(tat − now, 0), µs). A value that is not a time of
// this era in µs (2001–5138: 8 stray bytes read as a double would almost never be), NaN included,
// becomes an empty bucket (debt B × T), written back with the TTL of a refill.
// `raw` is the value read (false when the key does not exist).
const debtFrom = (key: string, tau: string): string => `local debt = 0
  if raw then
    local tat
    if #raw == 8 then tat = struct.unpack('<d', raw) else tat = tonumber(raw) end
    if not tat or not (tat > 1e15 and tat < 1e17) then
      tat = now + ${tau}
      redis.call('SET', ${key}, struct.pack('<d', tat), 'PX', fmt('%d', math.ceil(${tau} / 1000)))
    end
    if tat > now then debt = tat - now end
  end`;

const debtOf = (key: string, tau: string): string => `local raw = redis.call('GET', ${key})
  ${debtFrom(key, tau)}`;

// One decision on `key` with ARGV from a + 1 (c × T, B × T, W), its reply at out[o + 1 … o + 3],
// and its presence beat on `set` (a name, or nil without a beat) at out[o + 4].
const decide = (key: string, set: string): string => `local tau = tonumber(ARGV[a + 2])
  ${debtFrom(key, 'tau')}
  local newDebt = debt + tonumber(ARGV[a + 1])
  local wait = newDebt - tau
  if wait <= tonumber(ARGV[a + 3]) then
    local ttl = '${MIN_TTL_MS}'
    if newDebt > ${(MIN_TTL_MS - 2) * 1000} then ttl = fmt('%d', math.ceil(newDebt / 1000) + 1) end
    redis.call('SET', ${key}, struct.pack('<d', now + newDebt), 'PX', ttl)
    out[o + 1] = 1
    out[o + 3] = newDebt
  else
    out[o + 1] = 0
    out[o + 3] = debt
  end
  out[o + 2] = wait
  if ${set} then
    local ms = math.floor(now / 1000)
    redis.call('ZADD', ${set}, ms, ARGV[#ARGV])
    redis.call('ZREMRANGEBYSCORE', ${set}, '-inf', ms - ${PRESENCE_MS})
    redis.call('PEXPIRE', ${set}, ${PRESENCE_MS})
    out[o + 4] = redis.call('ZCARD', ${set})
  else
    out[o + 4] = 0
  end`;

/**
 * Several decisions in one call, taken in order at one Redis time (the batch of one event-loop
 * turn). KEYS: one bucket per decision, then the presence sets of the decisions that beat. ARGV,
 * per decision: c × T, B × T, W (the longest accepted wait), all µs, and `b`: 0, or the decision
 * beats for its limit and KEYS[D + b] is that limit's presence set; then, last, this node's id.
 * Returns four numbers per decision: admitted (1) or refused (0), the wait (allowAt − now, µs,
 * negative when the request conformed earlier), the debt after the decision, and for a beat the
 * nodes present in the last {@link PRESENCE_MS} (0 without a beat).
 */
export const TAKE_SCRIPT = luaScript(
  'bulwark-gcra-take',
  `${NOW}
local out = {}
local d = (#ARGV - 1) / ${TAKE_ARGS}
for i = 1, d do
  local a = (i - 1) * ${TAKE_ARGS}
  local key = KEYS[i]
  local o = (i - 1) * ${TAKE_REPLY}
  local raw = redis.call('GET', key)
  local set = nil
  local b = tonumber(ARGV[a + 4])
  if b > 0 then set = KEYS[d + b] end
  ${decide('key', 'set')}
end
return out`,
);

/** Arguments each decision of a {@link TAKE_NODE_SCRIPT} call carries in ARGV. */
export const NODE_ARGS = 5;

/**
 * The decisions of one turn whose keys live on one Redis Cluster master, whatever their slots:
 * one call per master instead of one per slot (Redis 7+, which runs a script flagged
 * `allow-cross-slot-keys` over keys of several slots of the node). A script may only declare keys
 * of one slot, so KEYS holds the first bucket alone (the client routes the call by it) and each
 * decision names its keys in ARGV: bucket, c × T, B × T, W, and its presence set or '' (no beat);
 * then, last, this node's id. A bucket whose slot this node does not serve (moved, migrating, the
 * cluster down) is left untouched and answered -1, to be sent again on its own; the reply is
 * otherwise that of {@link TAKE_SCRIPT}.
 */
export const TAKE_NODE_SCRIPT = luaScript(
  'bulwark-gcra-take-node',
  `#!lua flags=allow-cross-slot-keys
${NOW}
local out = {}
local d = (#ARGV - 1) / ${NODE_ARGS}
for i = 1, d do
  local a = (i - 1) * ${NODE_ARGS} + 1
  local key = ARGV[a]
  local o = (i - 1) * ${TAKE_REPLY}
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' and raw.err then
    out[o + 1] = -1
    out[o + 2] = 0
    out[o + 3] = 0
    out[o + 4] = 0
  else
    local set = ARGV[a + 4]
    if set == '' then set = nil end
    ${decide('key', 'set')}
  end
end
return out`,
);

/**
 * KEYS: the bucket. ARGV: F (hold, µs) + (B − 1) × T, B × T. Nothing is granted before now + F:
 * the TAT becomes at least now + F + (B − 1) × T.
 */
export const HOLD_SCRIPT = luaScript(
  'bulwark-gcra-hold',
  `${NOW}
local key = KEYS[1]
local tau = tonumber(ARGV[2])
${debtOf('key', 'tau')}
local held = tonumber(ARGV[1])
if held > debt then
  redis.call('SET', key, struct.pack('<d', now + held), 'PX', fmt('%d', math.ceil(held / 1000) + 1))
  return 1
end
return 0`,
);
