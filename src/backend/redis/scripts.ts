/** Lua scripts of the Redis result backend. */
import type Redis from "ioredis";

/**
 * store one or more task metas, in order: never overwrite a stored SUCCESS (Celery reads the meta
 * before every write); then SETEX (or SET when ttl is 0) + PUBLISH on the key name, atomically.
 * A signed meta (result_serializer "auth": base64 of fields joined by \x00\x01, the JSON body
 * last) is unwrapped to read its status, unverified: it only decides whether to write.
 *   KEYS: meta keys; ARGV: ttl seconds, an integer's text (0 = no TTL), then one value per key → how many were written
 */
export const STORE_LUA = `
-- what reads a value already stored is made only when there is one (most stores find none)
local function reader()
  local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  local function unbase64(s)
    s = string.gsub(s, '[^%w%+/]', '')
    local out, bits, n = {}, 0, 0
    for i = 1, #s do
      bits = bits * 64 + string.find(B64, string.sub(s, i, i), 1, true) - 1
      n = n + 6
      if n >= 8 then
        n = n - 8
        local byte = math.floor(bits / 2 ^ n)
        bits = bits - byte * 2 ^ n
        out[#out + 1] = string.char(byte)
      end
    end
    return table.concat(out)
  end
  local function status_of(cur)
    local ok, d = pcall(cjson.decode, cur)
    if ok and type(d) == 'table' then return d['status'] end
    local raw = unbase64(cur)
    local last, at = nil, string.find(raw, '\\0\\1', 1, true)
    while at do
      last = at
      at = string.find(raw, '\\0\\1', at + 2, true)
    end
    if not last then return nil end
    ok, d = pcall(cjson.decode, string.sub(raw, last + 2))
    if ok and type(d) == 'table' then return d['status'] end
    return nil
  end
  return status_of
end
local status_of
local ttl = tonumber(ARGV[1])
local written = 0
for i = 1, #KEYS do
  local key, value = KEYS[i], ARGV[i + 1]
  local cur = redis.call('GET', key)
  local keep = false
  if cur then
    status_of = status_of or reader()
    keep = status_of(cur) == 'SUCCESS'
  end
  if not keep then
    if ttl and ttl > 0 then
      redis.call('SETEX', key, ARGV[1], value) -- the text as given: no number formatting
    else
      redis.call('SET', key, value)
    end
    redis.call('PUBLISH', key, value)
    written = written + 1
  end
end
return written
`;

/** Most metas one store call carries. */
export const STORE_BATCH = 1000;

/**
 * chord part return (Celery RedisBackend.on_chord_part_return, zset mode), atomically:
 * ZADD .j <group_index> <member>, ZCOUNT, GET .t, GET .s, EXPIRE ×3 when ttl > 0; when .s exists
 * and ZCOUNT == .s + .t: ZRANGE .j 0 -1, DEL .j .t .s and return {1, members...}; else {0}.
 *   KEYS: .j, .t, .s; ARGV: score ('+inf' when no index), member, ttl
 */
export const CHORD_PART_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local count = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
local extra = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
local size = redis.call('GET', KEYS[3])
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if size and count == tonumber(size) + extra then
  local members = redis.call('ZRANGE', KEYS[1], 0, -1)
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  table.insert(members, 1, 1)
  return members
end
return {0}
`;

export interface BackendScripts {
  celeriacStore(numKeys: number, ...keysTtlValues: (string | number)[]): Promise<number>;
  celeriacChordPart(j: string, t: string, s: string, score: string, member: string, ttl: number): Promise<(string | number)[]>;
}

export type ScriptedBackendRedis = Redis & BackendScripts;

export function defineBackendScripts(redis: Redis): ScriptedBackendRedis {
  redis.defineCommand("celeriacStore", { lua: STORE_LUA });
  redis.defineCommand("celeriacChordPart", { lua: CHORD_PART_LUA, numberOfKeys: 3 });
  return redis as ScriptedBackendRedis;
}
