/**
 * @internal Lua scripts of the Redis backend: each operation on a session scope checks the
 * session and acts in one atomic script. Layout under the key prefix `P`:
 *
 * - `P version`: the store-wide version counter (INCR), never deleted, so versions are never reused;
 * - `P sessions`: sorted set, session id scored by `expiresAt` (`inf` for no TTL), for counting and sweeping;
 * - `P tomb`: sorted set, swept session id scored by when it expired (bounded, see backend.ts);
 * - `P meta:<id>`: hash `ttlMs`, `createdAt`, `expiresAt` (store-clock ms or `inf`);
 * - `P data:<id>` and `P global`: hash per scope, field `v<key>` = version, `d<key>` = msgpack bytes.
 *
 * The session id is always the whole suffix after a fixed prefix and keys are hash fields, so no
 * key or id can collide with another scope's.
 * @module
 */
import { createHash } from "node:crypto"
import { TOMBSTONE_MAX, TOMBSTONE_TTL_MS } from "./backend.ts"

/**
 * A Lua script and its SHA1 (for EVALSHA).
 *
 * @example
 * ```ts
 * const s: LuaScript = lua("return 1")
 * ```
 */
export interface LuaScript {
  readonly body: string
  readonly sha: string
}

/** Real PEXPIRE of a session's keys = logical time left + its ttl + this margin (garbage collection only). */
const GC_MARGIN_MS = 60 * 60 * 1000

const PRELUDE = `
local now = tonumber(ARGV[2])
local function state(meta, tomb, id)
  if id == '' then return 0 end
  local exp = redis.call('HGET', meta, 'expiresAt')
  if not exp then
    local at = redis.call('ZSCORE', tomb, id)
    if at and now - tonumber(at) < ${TOMBSTONE_TTL_MS} then return -2 end
    return -1
  end
  if exp ~= 'inf' and now >= tonumber(exp) then return -2 end
  return 0
end
local function gc(meta, data)
  local m = redis.call('HMGET', meta, 'expiresAt', 'ttlMs')
  if not m[1] then return end
  if m[1] == 'inf' then
    redis.call('PERSIST', meta)
    redis.call('PERSIST', data)
    return
  end
  local ms = math.floor(tonumber(m[1]) - now + tonumber(m[2]) + ${GC_MARGIN_MS})
  redis.call('PEXPIRE', meta, ms)
  redis.call('PEXPIRE', data, ms)
end
`

/**
 * Wraps a script body with the shared prelude (`now`, `state`, `gc`).
 *
 * @example
 * ```ts
 * const s = lua("return now")
 * ```
 */
export const lua = (body: string): LuaScript => {
  const full = PRELUDE + body
  return { body: full, sha: createHash("sha1").update(full).digest("hex") }
}

// Scope scripts: KEYS data, meta, tomb; ARGV id ('' = global), now, key, ...
/** Reply `{state}` | `{0}` (no key) | `{0, version}` (unchanged) | `{0, version, bytes}`. ARGV[4]: known version or ''. */
export const READ = lua(`
local s = state(KEYS[2], KEYS[3], ARGV[1])
if s ~= 0 then return {s} end
local v = redis.call('HGET', KEYS[1], 'v' .. ARGV[3])
if not v then return {0} end
if v == ARGV[4] then return {0, v} end
return {0, v, redis.call('HGET', KEYS[1], 'd' .. ARGV[3])}
`)

/** Reply `{state}` | `{0, version}`. KEYS[4]: the version counter; ARGV[4]: the bytes. */
export const WRITE = lua(`
local s = state(KEYS[2], KEYS[3], ARGV[1])
if s ~= 0 then return {s} end
local v = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'v' .. ARGV[3], string.format('%d', v), 'd' .. ARGV[3], ARGV[4])
if ARGV[1] ~= '' then gc(KEYS[2], KEYS[1]) end
return {0, v}
`)

/** Reply `{state}` | `{0, existed}`. */
export const REMOVE = lua(`
local s = state(KEYS[2], KEYS[3], ARGV[1])
if s ~= 0 then return {s} end
return {0, redis.call('HDEL', KEYS[1], 'v' .. ARGV[3], 'd' .. ARGV[3])}
`)

/** Reply `{state}` | `{0, keys}`. */
export const KEYS_OF = lua(`
local s = state(KEYS[2], KEYS[3], ARGV[1])
if s ~= 0 then return {s} end
local out = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(f, 1, 1) == 'v' then out[#out + 1] = string.sub(f, 2) end
end
return {0, out}
`)

// Session scripts: KEYS meta, data, sessions, tomb; ARGV id, now, ...
/**
 * ARGV[3] ttlMs, ARGV[4] expiresAt (both 'inf' for none), ARGV[5] maxSessions ('inf' = none).
 * Reply `{-3}` (limit) | `{1 existing | 2 created, ttlMs, createdAt, expiresAt}`.
 */
export const CREATE = lua(`
local exp = redis.call('HGET', KEYS[1], 'expiresAt')
if exp and (exp == 'inf' or now < tonumber(exp)) then
  local m = redis.call('HMGET', KEYS[1], 'ttlMs', 'createdAt', 'expiresAt')
  return {1, m[1], m[2], m[3]}
end
local count = redis.call('ZCARD', KEYS[3])
if redis.call('ZSCORE', KEYS[3], ARGV[1]) then count = count - 1 end
if ARGV[5] ~= 'inf' and count >= tonumber(ARGV[5]) then return {-3} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[1], 'ttlMs', ARGV[3], 'createdAt', ARGV[2], 'expiresAt', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
gc(KEYS[1], KEYS[2])
return {2, ARGV[3], ARGV[2], ARGV[4]}
`)

/** Reply `{state}` | `{0, ttlMs, createdAt, expiresAt}`. */
export const TOUCH = lua(`
local s = state(KEYS[1], KEYS[4], ARGV[1])
if s ~= 0 then return {s} end
local ttl = redis.call('HGET', KEYS[1], 'ttlMs')
local exp = 'inf'
if ttl ~= 'inf' then exp = string.format('%.17g', now + tonumber(ttl)) end
redis.call('HSET', KEYS[1], 'expiresAt', exp)
redis.call('ZADD', KEYS[3], exp, ARGV[1])
gc(KEYS[1], KEYS[2])
local m = redis.call('HMGET', KEYS[1], 'ttlMs', 'createdAt', 'expiresAt')
return {0, m[1], m[2], m[3]}
`)

/** Reply 1 if the session's metadata existed. */
export const DROP = lua(`
local existed = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return existed
`)

/** Deletes the session if expired at `now` and leaves a tombstone; reply 1 if it did. */
export const REAP = lua(`
local exp = redis.call('ZSCORE', KEYS[3], ARGV[1])
if not exp or exp == 'inf' or now < tonumber(exp) then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], exp, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', string.format('%.17g', now - ${TOMBSTONE_TTL_MS}))
local n = redis.call('ZCARD', KEYS[4])
if n > ${TOMBSTONE_MAX} then redis.call('ZREMRANGEBYRANK', KEYS[4], 0, n - ${TOMBSTONE_MAX} - 1) end
return 1
`)
