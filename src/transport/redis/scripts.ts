/**
 * Lua scripts of the Redis transport. Each runs atomically inside Redis, so a message is never
 * outside both its list and the `unacked` hash (except in the BRPOP fallback for Redis < 6.2, as in kombu).
 */
import type Redis from "ioredis";

/**
 * Lua `pystr(s)`: Python `json.dumps(s)` (ensure_ascii) of a UTF-8 string — must stay identical
 * to `pyJsonString` in src/protocol/serializers/json.ts (the unacked value is built by both).
 */
const PYSTR = `
local SHORT = {[8]='\\\\b', [9]='\\\\t', [10]='\\\\n', [12]='\\\\f', [13]='\\\\r', [34]='\\\\"', [92]='\\\\\\\\'}
local PYSTR_SEEN = {}
local function pystr(s)
  local seen = PYSTR_SEEN[s]
  if seen then return seen end
  if not string.find(s, '[%z\\1-\\31"\\\\\\127-\\255]') then
    seen = '"' .. s .. '"'
    PYSTR_SEEN[s] = seen
    return seen
  end
  local out = {}
  local i, n = 1, #s
  while i <= n do
    local c = string.byte(s, i)
    local cp, len = nil, 1
    if c < 128 then
      if SHORT[c] then out[#out + 1] = SHORT[c]
      elseif c < 32 or c == 127 then out[#out + 1] = string.format('\\\\u%04x', c)
      else out[#out + 1] = string.char(c) end
    else
      if c >= 240 and i + 3 <= n then
        cp = (c - 240) * 262144 + (string.byte(s, i + 1) - 128) * 4096 + (string.byte(s, i + 2) - 128) * 64 + (string.byte(s, i + 3) - 128)
        len = 4
      elseif c >= 224 and i + 2 <= n then
        cp = (c - 224) * 4096 + (string.byte(s, i + 1) - 128) * 64 + (string.byte(s, i + 2) - 128)
        len = 3
      elseif c >= 192 and i + 1 <= n then
        cp = (c - 192) * 64 + (string.byte(s, i + 1) - 128)
        len = 2
      else
        cp = 65533
      end
      if cp >= 65536 then
        cp = cp - 65536
        out[#out + 1] = string.format('\\\\u%04x\\\\u%04x', 55296 + math.floor(cp / 1024), 56320 + cp % 1024)
      else
        out[#out + 1] = string.format('\\\\u%04x', cp)
      end
    end
    i = i + len
  end
  return '"' .. table.concat(out) .. '"'
end
`;

/**
 * Lua `envelope_ids(msg)` → tag, exchange, routing_key (nil tag = unreadable envelope).
 *
 * Only `properties` is read, and decoding a whole envelope (its body and headers) costs ~4 µs in
 * Redis. So when the first `"properties": ` in the text is the envelope's last key (as kombu and
 * celeriac write it) only that object is decoded: the text from it to the envelope's closing
 * brace must decode as one value. That fails for any other occurrence, so nothing else can be
 * taken for it: inside a string the quotes are escaped, and one in a nested object is followed by
 * at least two closing braces. Every other envelope is decoded whole, as before.
 */
const ENVELOPE_IDS = `
local PROPS_KEY = '"properties": '
local function envelope_props(msg)
  local at = string.find(msg, PROPS_KEY, 1, true)
  if at and string.byte(msg, -1) == 125 then
    local ok, props = pcall(cjson.decode, string.sub(msg, at + #PROPS_KEY, -2))
    if ok then return props end
  end
  local ok, env = pcall(cjson.decode, msg)
  if not ok or type(env) ~= 'table' then return nil end
  return env['properties']
end
local function envelope_ids(msg)
  local props = envelope_props(msg)
  if type(props) ~= 'table' then return nil end
  local tag = props['delivery_tag']
  if type(tag) ~= 'string' or tag == '' then return nil end
  local ex, rk = '', nil
  local di = props['delivery_info']
  if type(di) == 'table' then
    if type(di['exchange']) == 'string' then ex = di['exchange'] end
    if type(di['routing_key']) == 'string' then rk = di['routing_key'] end
  end
  return tag, ex, rk
end
`;

/**
 * fetch: pop up to ARGV[1] messages, bucket-major (all queues' bucket 0, then the next step...),
 * one message per queue in turn inside a bucket (round robin; one queue: \`RPOP key count\`, one
 * command for the bucket, on Redis ≥ 6.2), and record each in unacked_index (score ARGV[2]) +
 * unacked ([envelope, exchange, routing_key]) in the same script: one ZADD and one HSET for the
 * whole batch (in chunks of 500 entries). An unreadable message is moved to the bad-envelope
 * list instead.
 *   KEYS: unacked, unacked_index, bad-envelope list, then nBuckets × nQueues lists (bucket-major)
 *   ARGV: max, now, nQueues, queue names (logical, for a missing routing key)
 *   → flat array: queueIndex (1-based), raw, status (1 = tracked, 0 = moved to bad list)
 */
export const FETCH_LUA = `${PYSTR}${ENVELOPE_IDS}
local maxn = tonumber(ARGV[1])
local now = ARGV[2]
local nq = tonumber(ARGV[3])
local nb = (#KEYS - 3) / nq
local out = {}
local n = 0
local index, values = {}, {}
local function take(qi, msg)
  n = n + 1
  local tag, ex, rk = envelope_ids(msg)
  local status = 0
  if tag then
    if not rk then rk = ARGV[3 + qi] end
    index[#index + 1] = now
    index[#index + 1] = tag
    values[#values + 1] = tag
    values[#values + 1] = '[' .. msg .. ', ' .. pystr(ex) .. ', ' .. pystr(rk) .. ']'
    status = 1
  else
    redis.call('LPUSH', KEYS[3], msg)
  end
  out[#out + 1] = qi
  out[#out + 1] = msg
  out[#out + 1] = status
end
for b = 0, nb - 1 do
  if nq == 1 then
    local key = KEYS[4 + b]
    local msgs = redis.pcall('RPOP', key, maxn - n)
    if type(msgs) == 'table' and msgs['err'] then
      -- Redis < 6.2: RPOP takes no count
      while n < maxn do
        local msg = redis.call('RPOP', key)
        if not msg then break end
        take(1, msg)
      end
    elseif msgs then
      for _, msg in ipairs(msgs) do take(1, msg) end
    end
  else
    local active = {}
    for qi = 1, nq do active[qi] = qi end
    while n < maxn and #active > 0 do
      local still = {}
      for _, qi in ipairs(active) do
        if n >= maxn then break end
        local msg = redis.call('RPOP', KEYS[3 + b * nq + qi])
        if msg then
          still[#still + 1] = qi
          take(qi, msg)
        end
      end
      active = still
    end
  end
  if n >= maxn then break end
end
for i = 1, #index, 1000 do redis.call('ZADD', KEYS[2], unpack(index, i, math.min(i + 999, #index))) end
for i = 1, #values, 1000 do redis.call('HSET', KEYS[1], unpack(values, i, math.min(i + 999, #values))) end
return out
`;

/**
 * ack one or more messages (kombu acks one: ZREM + HDEL in a MULTI; the same for each tag here):
 * KEYS unacked, unacked_index; ARGV the tags (at most ACK_BATCH). → how many were in `unacked`.
 */
export const ACK_LUA = `
redis.call('ZREM', KEYS[2], unpack(ARGV))
return redis.call('HDEL', KEYS[1], unpack(ARGV))
`;

/** Most tags one ack call carries (Lua's unpack is bounded by its C stack, 8000). */
export const ACK_BATCH = 1000;

/**
 * requeue (reject(requeue=true) → LPUSH, release at shutdown → RPUSH): if the tag is still in
 * `unacked`, remove it from both indices and push ARGV[2] to every KEYS[3..]; else only clean up.
 *   ARGV: tag, envelope text, "L" | "R"
 */
export const REQUEUE_LUA = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
if not v then return 0 end
for i = 3, #KEYS do
  if ARGV[3] == 'L' then redis.call('LPUSH', KEYS[i], ARGV[2]) else redis.call('RPUSH', KEYS[i], ARGV[2]) end
end
return 1
`;

/**
 * restore one expired entry (restore_visible), compare-and-swap on the value read before:
 *   KEYS: unacked, unacked_index, destination lists...
 *   ARGV: tag, expected hash value, new envelope text, ceiling score
 *   → 1 restored, 0 entry gone (index cleaned), -1 changed meanwhile (skipped)
 */
export const RESTORE_LUA = `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if v ~= ARGV[2] then return -1 end
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) > tonumber(ARGV[4]) then return -1 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 3, #KEYS do redis.call('RPUSH', KEYS[i], ARGV[3]) end
return 1
`;

/**
 * move an unacked entry to the bad-envelope list: KEYS unacked, unacked_index, bad list;
 * ARGV tag, raw text to keep. Removes the tag from both indices and LPUSHes the raw text.
 */
export const BAD_LUA = `
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('LPUSH', KEYS[3], ARGV[2])
return 1
`;

/**
 * track what wakes popped into a consumer's held list (see consumer.ts, "the wake pops"): per
 * entry, LREM it from the held list, and in mode 't' record it in unacked_index (score ARGV[1]) +
 * unacked (its value), as FETCH does; mode 'd' (acked before its track went out) only removes it
 * (the transport itself sends those as plain LREMs, cheaper for Redis: held.ts sendTracks).
 * A tracked entry already in unacked counts as tracked (the call was resent after a lost reply).
 *   KEYS: held list, unacked, unacked_index
 *   ARGV: now, then mode ('t' | 'd'), envelope, tag, unacked value per entry
 *   → per entry 1, or 0 when it was in neither place (restored from the held list meanwhile)
 */
export const TRACK_LUA = `
local out = {}
local index, values = {}, {}
for i = 2, #ARGV, 4 do
  local mode, tag = ARGV[i], ARGV[i + 2]
  local n = redis.call('LREM', KEYS[1], 1, ARGV[i + 1])
  if mode == 't' then
    if n == 1 then
      index[#index + 1] = ARGV[1]
      index[#index + 1] = tag
      values[#values + 1] = tag
      values[#values + 1] = ARGV[i + 3]
    elseif redis.call('HEXISTS', KEYS[2], tag) == 1 then
      n = 1
    end
  end
  out[#out + 1] = n
end
if #index > 0 then
  redis.call('ZADD', KEYS[3], unpack(index))
  redis.call('HSET', KEYS[2], unpack(values))
end
return out
`;

/** Most entries one track call carries (4 arguments each; Lua's unpack is bounded by 8000). */
export const TRACK_BATCH = 500;

/**
 * move one entry out of a held list: if LREM removes ARGV[1] from KEYS[1], push ARGV[2] to every
 * KEYS[2..] (ARGV[3] 'R': RPUSH, the front of a queue; 'L': LPUSH). → 1 moved, 0 not there.
 */
export const HELD_MOVE_LUA = `
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
for i = 2, #KEYS do
  if ARGV[3] == 'L' then redis.call('LPUSH', KEYS[i], ARGV[2]) else redis.call('RPUSH', KEYS[i], ARGV[2]) end
end
return 1
`;

/** release the restore mutex only if we still own it (redis-py Lock.release). */
export const UNLOCK_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** Commands sent at once, not auto-pipelined (see RedisTransport.cmd). */
export const UNPIPELINED_COMMANDS = ["celeriacFetch", "celeriacAck", "celeriacTrack", "lrem", "lpush"] as const;

/** The transport's commands, registered with ioredis `defineCommand` (EVALSHA, NOSCRIPT-safe). */
export interface TransportScripts {
  celeriacFetch(numKeys: number, ...args: (string | number)[]): Promise<(string | number)[]>;
  celeriacAck(unacked: string, unackedIndex: string, ...tags: string[]): Promise<number>;
  celeriacRequeue(numKeys: number, ...args: string[]): Promise<number>;
  celeriacRestore(numKeys: number, ...args: string[]): Promise<number>;
  celeriacBad(...args: string[]): Promise<number>;
  celeriacUnlock(...args: string[]): Promise<number>;
  celeriacTrack(held: string, unacked: string, unackedIndex: string, ...args: string[]): Promise<number[]>;
  celeriacHeldMove(numKeys: number, ...args: string[]): Promise<number>;
}

export type ScriptedRedis = Redis & TransportScripts;

export function defineTransportScripts(redis: Redis): ScriptedRedis {
  redis.defineCommand("celeriacFetch", { lua: FETCH_LUA });
  redis.defineCommand("celeriacAck", { lua: ACK_LUA, numberOfKeys: 2 });
  redis.defineCommand("celeriacRequeue", { lua: REQUEUE_LUA });
  redis.defineCommand("celeriacRestore", { lua: RESTORE_LUA });
  redis.defineCommand("celeriacBad", { lua: BAD_LUA, numberOfKeys: 3 });
  redis.defineCommand("celeriacUnlock", { lua: UNLOCK_LUA, numberOfKeys: 1 });
  redis.defineCommand("celeriacTrack", { lua: TRACK_LUA, numberOfKeys: 3 });
  redis.defineCommand("celeriacHeldMove", { lua: HELD_MOVE_LUA });
  return redis as ScriptedRedis;
}
