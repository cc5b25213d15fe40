"""Session state in Redis (``redis://host:6379/0``): shared by every worker and replica.

Each user (scope key) is one Redis hash. A request runs :data:`OBSERVE_LUA`, a line-by-line port of
:func:`middleware.state.clock.transition`, as one script: Redis runs scripts one at a time, so a
read-decide-write never interleaves with another replica's and a reminder is delivered exactly once.
Time zones stay in Python (:func:`middleware.state.day_facts` is passed in as numbers); the script only
compares numbers, and ``tests/test_state_redis.py`` checks it decides exactly like the Python reference
on randomised request sequences. Numbers cross the boundary as ``%.17g`` / ``repr`` text, which
round-trips IEEE doubles exactly.

Hash fields: ``cur`` current session, ``ls`` last seen, ``ld`` last disclosure, ``ss`` stretch start,
``ur`` usage reminders in the stretch, ``lr`` last reality reminder, ``ldep`` last dependence reminder,
``ds``/``de`` day start/end, ``du`` daily use, ``st`` sessions today, ``ow`` a disclosure is owed,
``o:<id>`` open session -> last seen.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from middleware.state import (
    DEFAULT_TTL,
    MAX_OPEN_SESSIONS,
    ClockParams,
    Decision,
    Observation,
    StateStoreError,
    UserState,
    day_facts,
    new_session_id,
    state_ttl,
)

OBSERVE_LUA = r"""
local key = KEYS[1]
local function opt(s) if s == nil or s == '' then return nil end return tonumber(s) end
local function fmt(x) return string.format('%.17g', x) end
-- byte-wise string order (= Python's code point order for UTF-8), independent of the server's locale
local function lt(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end

local now = tonumber(ARGV[1])
local hint = ARGV[2]; if hint == '' then hint = nil end
local attachment = ARGV[3] == '1'
local new_id = ARGV[4]
local f_day_start, f_day_end, late_night = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7] == '1'
local relogin_gap, first_turn, once_per = tonumber(ARGV[8]), ARGV[9] == '1', opt(ARGV[10])
local disclose_relogin, every, idle_reset = ARGV[11] == '1', opt(ARGV[12]), tonumber(ARGV[13])
local remind_every, reality_every = opt(ARGV[14]), opt(ARGV[15])
local dep, dep_daily, dep_sessions = ARGV[16] == '1', opt(ARGV[17]), opt(ARGV[18])
local dep_attach, dep_min = ARGV[19] == '1', tonumber(ARGV[20])
local ttl_ms, max_open = tonumber(ARGV[21]), tonumber(ARGV[22])
local first_daily, disclosure_lead, reality_lead = ARGV[23] == '1', tonumber(ARGV[24]), tonumber(ARGV[25])

local raw = redis.call('HGETALL', key)
local has_state = #raw > 0
local st, old_sessions = {}, {}
for i = 1, #raw, 2 do
  local f, v = raw[i], raw[i + 1]
  if string.sub(f, 1, 2) == 'o:' then old_sessions[string.sub(f, 3)] = tonumber(v) else st[f] = v end
end

-- sessions
local new_session, relogin, counted, gap, sid, last_seen
local open = {}
if not has_state then
  new_session, relogin, counted, gap = true, false, false, 0
  sid = hint or new_id
else
  last_seen = tonumber(st.ls)
  gap = math.max(0, now - last_seen)
  counted = gap < idle_reset
  local target = hint
  if target == nil then target = st.cur end
  local seen = nil
  if target ~= nil then seen = old_sessions[target] end
  new_session = (seen == nil) or (now - seen >= relogin_gap)
  relogin = new_session and (st.cur == nil or gap >= relogin_gap)
  if hint ~= nil then sid = hint elseif new_session then sid = new_id else sid = target end
  for k, v in pairs(old_sessions) do
    if now - v < relogin_gap then open[k] = v end
  end
end
if new_session then open[sid] = now else open[sid] = math.max(open[sid] or now, now) end
local count = 0
for _ in pairs(open) do count = count + 1 end
while count > max_open do
  local mk, mv = nil, nil
  for k, v in pairs(open) do
    if k ~= sid and (mk == nil or v < mv or (v == mv and lt(k, mk))) then mk, mv = k, v end
  end
  open[mk] = nil
  count = count - 1
end

-- the day
local day_start, day_end, daily_used, sessions_today
if has_state and f_day_start <= tonumber(st.ds) then
  day_start, day_end = tonumber(st.ds), tonumber(st.de)
  daily_used, sessions_today = tonumber(st.du), tonumber(st.st)
else
  day_start, day_end, daily_used = f_day_start, f_day_end, 0
  if (not has_state) or new_session then sessions_today = 0 else sessions_today = 1 end
end
if has_state then
  local used_until = math.min(now, last_seen + idle_reset)
  daily_used = daily_used + math.max(0, used_until - math.max(last_seen, day_start))
end
if new_session then sessions_today = sessions_today + 1 end

-- continuous use and usage reminders
local stretch_start, reminders
if has_state and counted then
  stretch_start, reminders = tonumber(st.ss), tonumber(st.ur)
else
  stretch_start, reminders = now, 0
end
local continuous = math.max(0, now - stretch_start)
local usage = false
if remind_every ~= nil then
  local due = math.floor(continuous / remind_every)
  if due > reminders then usage, reminders = true, due end
end

-- disclosure
local last_disclosed = nil
if has_state then last_disclosed = opt(st.ld) end
local disclose = false
if new_session then
  if first_turn then
    local fresh
    if first_daily then
      fresh = last_disclosed == nil or last_disclosed < day_start
    else
      fresh = once_per == nil or last_disclosed == nil or now - last_disclosed >= once_per
    end
    if fresh then disclose = true end
  end
  if relogin and disclose_relogin then disclose = true end
end
if every ~= nil then
  local anchor = stretch_start
  if last_disclosed ~= nil then anchor = math.max(last_disclosed, stretch_start) end
  if now - anchor >= every - disclosure_lead then disclose = true end
end
if has_state and st.ow == '1' then disclose = true end
if disclose then last_disclosed = now end

-- reality reminders (minors)
local last_reality = nil
if has_state then last_reality = opt(st.lr) end
local reality = false
if reality_every ~= nil then
  local anchor = stretch_start
  if last_reality ~= nil then anchor = math.max(last_reality, stretch_start) end
  if now - anchor >= reality_every - reality_lead then reality, last_reality = true, now end
end

-- dependence
local last_dep = nil
if has_state then last_dep = opt(st.ldep) end
local signals = {}
local dependence = false
if dep then
  if dep_daily ~= nil and daily_used >= dep_daily then table.insert(signals, 'daily_minutes') end
  if dep_sessions ~= nil and sessions_today >= dep_sessions then table.insert(signals, 'sessions_per_day') end
  if late_night then table.insert(signals, 'late_night') end
  if dep_attach and attachment then table.insert(signals, 'attachment') end
  if #signals > 0 and (last_dep == nil or now - last_dep >= dep_min) then dependence, last_dep = true, now end
end

-- write back
local new_last_seen = now
if has_state then new_last_seen = math.max(last_seen, now) end
local sets = {'cur', sid, 'ls', fmt(new_last_seen), 'ss', fmt(stretch_start), 'ur', fmt(reminders),
              'ds', fmt(day_start), 'de', fmt(day_end), 'du', fmt(daily_used), 'st', fmt(sessions_today)}
local dels = {'ow'}   -- an owed disclosure is always given by this request
-- (a list, not a map: pairs() would skip the nil values that must be deleted)
local optional = {{'ld', last_disclosed}, {'lr', last_reality}, {'ldep', last_dep}}
for _, pair in ipairs(optional) do
  if pair[2] ~= nil then
    table.insert(sets, pair[1]); table.insert(sets, fmt(pair[2]))
  else
    table.insert(dels, pair[1])
  end
end
for k, v in pairs(open) do table.insert(sets, 'o:' .. k); table.insert(sets, fmt(v)) end
for k, _ in pairs(old_sessions) do
  if open[k] == nil then table.insert(dels, 'o:' .. k) end
end
if #dels > 0 then redis.call('HDEL', key, unpack(dels)) end
redis.call('HSET', key, unpack(sets))
redis.call('PEXPIRE', key, ttl_ms)

local function flag(b) if b then return '1' end return '0' end
return {sid, flag(new_session), flag(relogin), flag(disclose), flag(usage), fmt(continuous), flag(dependence),
        table.concat(signals, ','), flag(reality), fmt(daily_used), fmt(day_end), fmt(sessions_today)}
"""

OWE_LUA = r"""
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ow', '1')
return 1
"""

END_SESSION_LUA = r"""
local raw = redis.call('HGETALL', KEYS[1])
if #raw == 0 then return 0 end
local dels = {'cur'}
for i = 1, #raw, 2 do
  if string.sub(raw[i], 1, 2) == 'o:' then table.insert(dels, raw[i]) end
end
redis.call('HDEL', KEYS[1], unpack(dels))
return 1
"""


def _num(value: float | int | None) -> str:
    # repr() is the shortest text that parses back to the same double, in Python and in Lua alike
    return "" if value is None else repr(value)


def _flag(value: bool) -> str:
    return "1" if value else "0"


class RedisStateStore:
    """The :class:`middleware.state.StateStore` for several workers or replicas."""

    def __init__(self, client: aioredis.Redis, *, key_prefix: str = "candor:state:",
                 ttl: float = DEFAULT_TTL, url: str = "redis",
                 mint_session_id: Callable[[], str] = new_session_id) -> None:
        self._redis = client
        self._mint = mint_session_id
        self._prefix = key_prefix
        self._ttl = ttl
        self._where = url
        # redis-py's Script runs EVALSHA and loads the script on NOSCRIPT (after a Redis restart or failover)
        self._observe = client.register_script(OBSERVE_LUA)
        self._end = client.register_script(END_SESSION_LUA)
        self._owe = client.register_script(OWE_LUA)

    @classmethod
    def from_url(cls, url: str, *, key_prefix: str = "candor:state:",
                 ttl: float = DEFAULT_TTL) -> RedisStateStore:
        client = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=2.0,
                                         socket_timeout=5.0)
        return cls(client, key_prefix=key_prefix, ttl=ttl, url=url)

    def key(self, scope_key: str) -> str:
        return self._prefix + scope_key

    async def observe(self, scope_key: str, obs: Observation, params: ClockParams) -> Decision:
        facts = day_facts(obs.now, params)
        dep = params.dependence
        args = [
            _num(obs.now), obs.session_hint or "", _flag(obs.attachment_signal), self._mint(),
            _num(facts.day_start), _num(facts.day_end), _flag(facts.late_night),
            _num(params.relogin_gap), _flag(params.disclose_first_turn), _num(params.first_turn_once_per),
            _flag(params.disclose_relogin), _num(params.disclosure_every), _num(params.idle_reset),
            _num(params.remind_every), _num(params.reality_every),
            _flag(dep is not None), _num(dep.daily_seconds if dep else None),
            _num(dep.sessions_per_day if dep else None), _flag(dep.attachment if dep else False),
            _num(dep.min_interval if dep else 0.0),
            str(max(1, round(state_ttl(self._ttl, params) * 1000))), str(MAX_OPEN_SESSIONS),
            _flag(params.first_turn_daily), _num(params.disclosure_lead), _num(params.reality_lead),
        ]
        try:
            out: list[str] = await self._observe(keys=[self.key(scope_key)], args=args)
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc
        daily_used = float(out[9])
        return Decision(
            session_id=out[0], new_session=out[1] == "1", relogin=out[2] == "1", disclose=out[3] == "1",
            usage_reminder=out[4] == "1", continuous_seconds=float(out[5]), dependence_reminder=out[6] == "1",
            dependence_signals=tuple(out[7].split(",")) if out[7] else (), reality_reminder=out[8] == "1",
            daily_used_seconds=daily_used,
            daily_limit_reached=params.daily_limit is not None and daily_used >= params.daily_limit,
            resets_at=float(out[10]), sessions_today=int(float(out[11])))

    async def end_session(self, scope_key: str) -> None:
        try:
            await self._end(keys=[self.key(scope_key)], args=[])
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc

    async def owe_disclosure(self, scope_key: str) -> None:
        try:
            await self._owe(keys=[self.key(scope_key)], args=[])
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc

    async def snapshot(self, scope_key: str) -> UserState | None:
        try:
            raw: dict[Any, Any] = await self._redis.hgetall(self.key(scope_key))
        except RedisError as exc:
            raise StateStoreError(f"session state store at {self._where} failed: {exc}") from exc
        return state_from_hash(raw)

    async def ping(self) -> bool:
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        await self._redis.aclose()


def state_from_hash(raw: dict[str, Any]) -> UserState | None:
    """Decode a user's hash (as written by :data:`OBSERVE_LUA`)."""
    if not raw:
        return None

    def opt(name: str) -> float | None:
        value = raw.get(name)
        return None if value in (None, "") else float(value)

    return UserState(
        current=raw.get("cur"),
        sessions={k[2:]: float(v) for k, v in raw.items() if k.startswith("o:")},
        last_seen=float(raw["ls"]), last_disclosed=opt("ld"), stretch_start=float(raw["ss"]),
        usage_reminders=int(float(raw["ur"])), last_reality=opt("lr"), last_dependence=opt("ldep"),
        day_start=float(raw["ds"]), day_end=float(raw["de"]), daily_used=float(raw["du"]),
        sessions_today=int(float(raw["st"])), owed_disclosure=raw.get("ow") == "1")
