"""API keys: only SHA-256 digests are stored, and comparisons run in constant time.

A created key looks like ``bk_<id>_<secret>``; Redis maps the id to the owner and the
digest of the whole key. Static keys come from ``BROWSING_API_KEYS="alice:KEY1,bob:KEY2"``.

A key may be an admin key, which may also use the operators' API (/api/v1/admin):
a created key made with ``browsing keys create USER --admin`` (its id is in
``keys.ADMIN_KEYS``), or a static key of a user named in ``BROWSING_ADMIN_USERS``. Admin
is a property of the key, not of the user: the same user's other keys stay plain.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import redis

from shared import keys
from shared.errors import ConfigError

USER_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CREATED_KEY = re.compile(r"^bk_([0-9a-f]{12})_[0-9a-f]{48}$")


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who a request's key belongs to, and whether the key may use the admin API."""

    user: str
    admin: bool = False


def parse_admin_users(spec: str) -> frozenset[str]:
    """'ops,alice' -> the users whose static keys are admin keys."""
    users = frozenset(filter(None, (part.strip() for part in spec.split(","))))
    for user in users:
        if not USER_PATTERN.match(user):
            raise ConfigError(f"BROWSING_ADMIN_USERS must list user names, got {user!r}")
    return users


def digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


def parse_static_keys(spec: str) -> list[tuple[str, bytes]]:
    """'alice:KEY1,bob:KEY2' -> [(user, digest)]; the plain keys are not kept."""
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        user, sep, key = item.partition(":")
        if not sep or not key or not USER_PATTERN.match(user):
            raise ConfigError(f"BROWSING_API_KEYS entries must look like user:key, got {user!r}")
        pairs.append((user, digest(key)))
    return pairs


class KeyStore:
    def __init__(self, client: redis.Redis, static_keys: str = "", admin_users: str = "") -> None:
        self.redis = client
        self.static = parse_static_keys(static_keys)
        self.static_admins = parse_admin_users(admin_users)

    def create(self, user: str, *, admin: bool = False) -> str:
        """Create a key for ``user``; the returned key is never stored, only its digest.
        ``admin``: the key may use the admin API too."""
        if not USER_PATTERN.match(user):
            raise ConfigError("user names are 1-64 characters of letters, digits and _ . @ -")
        key_id = secrets.token_hex(6)
        key = f"bk_{key_id}_{secrets.token_hex(24)}"
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.API_KEYS, key_id, f"{user}:{digest(key).hex()}")
        if admin:
            pipe.sadd(keys.ADMIN_KEYS, key_id)
        pipe.execute()
        return key

    def revoke(self, key_id: str) -> bool:
        pipe = self.redis.pipeline(transaction=True)
        pipe.hdel(keys.API_KEYS, key_id)
        pipe.srem(keys.ADMIN_KEYS, key_id)
        return bool(pipe.execute()[0])

    def authenticate(self, key: str) -> Caller | None:
        """Who owns ``key``, or None."""
        candidate = digest(key)
        owner = None
        for user, expected in self.static:  # every entry is compared, match or not
            if hmac.compare_digest(candidate, expected):
                owner = user
        if owner is not None:
            return Caller(user=owner, admin=owner in self.static_admins)
        match = CREATED_KEY.match(key)
        if not match:
            return None
        key_id = match.group(1)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hget(keys.API_KEYS, key_id)
        pipe.sismember(keys.ADMIN_KEYS, key_id)
        stored, admin = pipe.execute()
        if not stored:
            return None
        user, _, hex_digest = stored.rpartition(":")
        if not hmac.compare_digest(candidate, bytes.fromhex(hex_digest)):
            return None
        return Caller(user=user, admin=bool(admin))
