"""Liveness of the parts TDP needs: the database, Redis and the RQ workers."""

from typing import Any

import redis
from django.conf import settings
from django.db import connection
from rq import Worker


def redis_client(timeout: float = 1.0) -> redis.Redis:
    """A Redis client with short timeouts, for health checks that must answer fast."""
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


def check_health() -> tuple[bool, dict[str, Any]]:
    """Return (all_ok, report) where report is `{"db": .., "redis": .., "workers": N}`.

    Each part says "ok" or "down: <reason>"; `workers` counts registered RQ workers (0 when Redis
    is down). Answers within about two seconds even when Redis does not.
    """
    report: dict[str, Any] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["db"] = "ok"
    except Exception as exc:
        report["db"] = f"down: {type(exc).__name__}"
    try:
        client = redis_client()
        client.ping()
        report["redis"] = "ok"
        report["workers"] = Worker.count(connection=client)
    except Exception as exc:
        report["redis"] = f"down: {type(exc).__name__}"
        report["workers"] = 0
    return report["db"] == "ok" and report["redis"] == "ok", report
