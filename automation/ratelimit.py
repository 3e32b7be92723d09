"""Per-provider rate limits shared by every worker, kept in Redis.

A sliding-window log: each allowed call adds one member, scored with the Redis server's clock,
to a sorted set per key; a call is allowed while fewer than `per_minute` members are younger
than a minute. One Lua script prunes, counts and adds, so two workers can never both take the
last slot, and using the server's clock keeps workers on different machines in agreement.
Redis errors are raised to the caller (enrichment treats them as "try again later").
"""

from __future__ import annotations

import uuid

import redis

from tdp.health import redis_client

WINDOW_MS = 60_000
KEY_PREFIX = "tdp:ratelimit:"

# KEYS[1] the window's sorted set; ARGV: limit, window (ms), member, "1" to take a slot.
# Returns {allowed (0/1), milliseconds until a slot frees (0 when one is free)}.
_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[3])
    redis.call('PEXPIRE', KEYS[1], window)
  end
  return {1, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, math.max(1, tonumber(oldest[2]) + window - now)}
"""


def _run(
    key: str, per_minute: int, *, take: bool, client: redis.Redis | None
) -> tuple[bool, float]:
    conn = client if client is not None else redis_client(timeout=2.0)
    allowed, wait_ms = conn.eval(
        _SCRIPT, 1, KEY_PREFIX + key, per_minute, WINDOW_MS, uuid.uuid4().hex, "1" if take else "0"
    )
    return bool(allowed), int(wait_ms) / 1000


def allow(key: str, per_minute: int | None, *, client: redis.Redis | None = None) -> bool:
    """Take one call from ``key``'s budget of ``per_minute`` calls; False when it is spent.

    A missing or zero limit means unlimited (nothing is counted). ``client`` defaults to a
    connection to `REDIS_URL`; every worker using the same Redis shares the budget.
    """
    if not per_minute:
        return True
    return _run(key, per_minute, take=True, client=client)[0]


def wait_time(key: str, per_minute: int | None, *, client: redis.Redis | None = None) -> float:
    """Seconds until ``key`` has a free call again (0.0 when one is free now); takes nothing."""
    if not per_minute:
        return 0.0
    return _run(key, per_minute, take=False, client=client)[1]
