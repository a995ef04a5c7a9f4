"""What the operator commands (keys, nodes) share: their settings, taken from the
running local cluster when no Redis is named, and one clear error for an unreachable
Redis."""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Iterator

import redis

from browsing.state import operator_env
from shared.config import Settings, load_settings
from shared.errors import BackendUnavailable


def operator_settings() -> Settings:
    return load_settings(operator_env())


def without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@contextlib.contextmanager
def reaching_redis(settings: Settings) -> Iterator[None]:
    try:
        yield
    except redis.RedisError as exc:
        raise BackendUnavailable(
            f"cannot reach Redis at {without_password(settings.redis_url)} ({exc}); "
            "start a local cluster with `browsing up` (make run), or set BROWSING_REDIS_URL"
        ) from exc
