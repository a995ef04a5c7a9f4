"""API keys: only SHA-256 digests are stored, and comparisons run in constant time.

A created key looks like ``bk_<id>_<secret>``; Redis maps the id to the owner and the
digest of the whole key. Static keys come from ``BROWSING_API_KEYS="alice:KEY1,bob:KEY2"``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import redis

from shared import keys
from shared.errors import ConfigError

USER_PATTERN = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CREATED_KEY = re.compile(r"^bk_([0-9a-f]{12})_[0-9a-f]{48}$")


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
    def __init__(self, client: redis.Redis, static_keys: str = "") -> None:
        self.redis = client
        self.static = parse_static_keys(static_keys)

    def create(self, user: str) -> str:
        """Create a key for ``user``; the returned key is never stored, only its digest."""
        if not USER_PATTERN.match(user):
            raise ConfigError("user names are 1-64 characters of letters, digits and _ . @ -")
        key_id = secrets.token_hex(6)
        key = f"bk_{key_id}_{secrets.token_hex(24)}"
        self.redis.hset(keys.API_KEYS, key_id, f"{user}:{digest(key).hex()}")
        return key

    def revoke(self, key_id: str) -> bool:
        return bool(self.redis.hdel(keys.API_KEYS, key_id))

    def authenticate(self, key: str) -> str | None:
        """The user owning ``key``, or None."""
        candidate = digest(key)
        owner = None
        for user, expected in self.static:  # every entry is compared, match or not
            if hmac.compare_digest(candidate, expected):
                owner = user
        if owner is not None:
            return owner
        match = CREATED_KEY.match(key)
        if not match:
            return None
        stored = self.redis.hget(keys.API_KEYS, match.group(1))
        if not stored:
            return None
        user, _, hex_digest = stored.rpartition(":")
        return user if hmac.compare_digest(candidate, bytes.fromhex(hex_digest)) else None
