// The Lua scripts of state.redis. Redis runs a script atomically, which is what makes the
// ETag check and the write one step. The layout is Dapr's: a hash per key with the fields
// "data" (the value) and "version" (an integer ETag raised by one on every write).
#pragma once

#include <string_view>

namespace dapr::state::redis_scripts {

// Error replies the write script uses for a failed condition.
inline constexpr std::string_view kEtagMismatch = "DAPR_ETAG_MISMATCH";
inline constexpr std::string_view kBadVersion = "DAPR_BAD_VERSION";

// KEYS[1]: the key. Returns nil when missing, else {data, version, pttl}. A plain string
// (how very old Dapr versions stored values) is returned without a version.
inline constexpr std::string_view kGet = R"lua(
local key = KEYS[1]
local kind = redis.call("TYPE", key)["ok"]
if kind == "none" then return false end
local pttl = redis.call("PTTL", key)
if kind == "hash" then
  local fields = redis.call("HMGET", key, "data", "version")
  return {fields[1], fields[2], pttl}
end
if kind == "string" then return {redis.call("GET", key), false, pttl} end
return redis.error_reply("WRONGTYPE key holds a " .. kind .. ", not a state hash")
)lua";

// Set, Delete and Multi all use this one script, so a single write is a transaction of one.
// KEYS[i] is the key of operation i, and ARGV[5i-4 .. 5i] its arguments:
//   op ("set" or "del"), expected version ("" for none), "1" when the key must not exist
//   (first-write), value, TTL in seconds ("0" for none: PERSIST).
// Phase one checks every condition against a simulated state, so that an operation sees the
// ones before it on the same key; phase two writes only if every check passed, because Redis
// cannot roll back a script that fails halfway.
inline constexpr std::string_view kWrite = R"lua(
local state = {}
local function current(key)
  local s = state[key]
  if s == nil then
    local kind = redis.call("TYPE", key)["ok"]
    local version = false
    if kind == "hash" then version = redis.call("HGET", key, "version") end
    s = {exists = kind ~= "none", version = version}
    state[key] = s
  end
  return s
end

for i, key in ipairs(KEYS) do
  local op, expected, first_write = ARGV[5 * i - 4], ARGV[5 * i - 3], ARGV[5 * i - 2]
  local s = current(key)
  if s.version and not string.match(s.version, "^%-?%d+$") then
    return redis.error_reply("DAPR_BAD_VERSION field 'version' is not an integer")
  end
  if (expected ~= "" and s.version ~= expected) or (first_write == "1" and s.exists) then
    return redis.error_reply("DAPR_ETAG_MISMATCH")
  end
  if op == "set" then
    s.exists, s.version = true, tostring((tonumber(s.version) or 0) + 1)
  else
    s.exists, s.version = false, false
  end
end

for i, key in ipairs(KEYS) do
  local op, value, ttl = ARGV[5 * i - 4], ARGV[5 * i - 1], tonumber(ARGV[5 * i])
  if op == "del" then
    redis.call("DEL", key)
  else
    if redis.call("TYPE", key)["ok"] ~= "hash" then redis.call("DEL", key) end
    redis.call("HSET", key, "data", value)
    redis.call("HINCRBY", key, "version", 1)
    if ttl > 0 then redis.call("EXPIRE", key, ttl) else redis.call("PERSIST", key) end
  end
end
return #KEYS
)lua";

}  // namespace dapr::state::redis_scripts
