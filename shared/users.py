"""Per-user weights and limits (README, "Fair share and limits").

A user is the name an API key belongs to: ``alice`` in ``BROWSING_API_KEYS=alice:KEY``,
or the USER of ``browsing keys create USER``. All of a user's keys share one weight and
one set of limits.

A user's policy is the settings' defaults (``BROWSING_USER_*``), then what
``BROWSING_USER_LIMITS`` says for that user, then what ``browsing keys create/limits``
stored in Redis for that user. The gateway resolves it for each submit (cached for a
couple of seconds) and hands it to the record script, which applies the limits and
records the weight the scheduler's fair share uses.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import redis

from shared import keys
from shared.errors import ConfigError

FIELDS = ("weight", "max_active", "max_queued", "rate", "burst")
MAX_WEIGHT = 1000
CACHE_S = 2.0


@dataclass(frozen=True)
class UserPolicy:
    weight: int = 1  # share of free slots while others wait too
    max_active: int = 0  # tasks assigned or running at once; 0: no limit
    max_queued: int = 0  # tasks waiting for a node; 0: no limit
    rate: float = 0.0  # submits per second; 0: no limit
    burst: int = 0  # the rate bucket's size; 0: one second's worth (at least 1)

    @property
    def bucket(self) -> int:
        return self.burst or max(1, math.ceil(self.rate))

    def with_values(self, values: dict[str, str], *, where: str) -> UserPolicy:
        """This policy with ``values`` (field name -> text) applied."""
        changes: dict[str, Any] = {}
        for name, raw in values.items():
            if name not in FIELDS:
                raise ConfigError(f"{where}: unknown limit {name!r} (one of {', '.join(FIELDS)})")
            try:
                value = float(raw) if name == "rate" else int(raw)
            except ValueError as exc:
                raise ConfigError(f"{where}: {name}={raw!r} is not a number") from exc
            if not math.isfinite(value):  # float() reads "nan" and "inf" too
                raise ConfigError(f"{where}: {name}={raw!r} is not a number")
            if value < 0 or (name == "weight" and not 1 <= value <= MAX_WEIGHT):
                bounds = f"1 to {MAX_WEIGHT}" if name == "weight" else "0 or more"
                raise ConfigError(f"{where}: {name} must be {bounds}, got {raw}")
            changes[name] = value
        return dataclasses.replace(self, **changes)

    def as_fields(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in FIELDS}


def parse_user_limits(spec: str) -> dict[str, dict[str, str]]:
    """'alice:weight=3,max_active=20;bob:rate=5' -> {user: {field: text}}, checked."""
    from shared.apikeys import USER_PATTERN

    out: dict[str, dict[str, str]] = {}
    for entry in filter(None, (part.strip() for part in spec.split(";"))):
        user, sep, rest = entry.partition(":")
        where = f"BROWSING_USER_LIMITS entry {entry!r}"
        if not sep or not USER_PATTERN.match(user):
            raise ConfigError(f"{where}: write user:name=value,name=value")
        values: dict[str, str] = {}
        for item in filter(None, (p.strip() for p in rest.split(","))):
            name, eq, value = item.partition("=")
            if not eq:
                raise ConfigError(f"{where}: {item!r} is not name=value")
            values[name.strip()] = value.strip()
        UserPolicy().with_values(values, where=where)  # refuses what cannot be applied
        out[user] = values
    return out


class UserPolicies:
    """Resolves users' policies; safe to share between threads."""

    def __init__(self, client: redis.Redis, settings: Any, *, cache_s: float = CACHE_S) -> None:
        self.redis = client
        self.base = UserPolicy(
            max_active=settings.user_max_active,
            max_queued=settings.user_max_queued,
            rate=settings.user_rate,
            burst=settings.user_burst,
        )
        self.static = parse_user_limits(settings.user_limits)
        self.cache_s = cache_s
        self._cache: dict[str, tuple[float, UserPolicy]] = {}
        self._lock = threading.Lock()

    def get(self, user: str) -> UserPolicy:
        now = time.monotonic()
        cached = self._cache.get(user)
        if cached is not None and now - cached[0] < self.cache_s:
            return cached[1]
        policy = self.base
        if user in self.static:
            policy = policy.with_values(self.static[user], where="BROWSING_USER_LIMITS")
        stored = self.redis.hgetall(keys.user(user))
        if stored:
            try:
                policy = policy.with_values(stored, where=f"stored limits of {user}")
            except ConfigError:
                pass  # written by hand: the rest of the policy still holds
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[user] = (now, policy)
        return policy

    def origins(self, user: str) -> dict[str, str]:
        """Where each field of ``get(user)`` comes from: ``default`` (the settings),
        ``BROWSING_USER_LIMITS`` or ``browsing keys`` (stored in Redis)."""
        stored = self.redis.hgetall(keys.user(user))
        static = self.static.get(user, {})
        return {
            name: "browsing keys"
            if name in stored
            else "BROWSING_USER_LIMITS"
            if name in static
            else "default"
            for name in FIELDS
        }

    def set(self, user: str, values: dict[str, str]) -> UserPolicy:
        """Store per-user overrides (``browsing keys``); returns the resulting policy."""
        self.base.with_values(values, where=f"limits of {user}")
        if values:
            self.redis.hset(keys.user(user), mapping=values)
        self._cache.pop(user, None)
        return self.get(user)

    def clear(self, user: str) -> None:
        self.redis.delete(keys.user(user))
        self._cache.pop(user, None)
