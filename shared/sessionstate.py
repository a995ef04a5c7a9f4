"""Browser state per ``session_key``: what a task's browser context leaves for the next
task of the same user with the same key (cookies, localStorage, IndexedDB where
Playwright's storage state covers it).

Where it lives:
- the state itself in the S3 bucket, one object per save, under
  ``<session_state_prefix><session hash>/``, where the hash is SHA-256 of the user and
  the key: no raw key appears in an object name, and one session's objects share a
  prefix (so a forget deletes them all, leftovers included);
- each object sealed with AES-GCM (``cryptography``) under the operator's
  ``BROWSING_STATE_KEY``, the user and the key bound as associated data: an object
  copied under another user's or another session's name does not open there;
- the index of a user's sessions in Redis (``keys.sessions``): session key -> the
  object holding its latest state, when it was saved, when it expires and its size.
  The index is written when a task finishes, in the same script that writes its
  terminal status (``end_session`` in shared/lua/common.lua): the winner of a fanout
  race stages its state under its own object name and notes it on its attempt, and
  only the winner's note reaches the index. Loads go through the index, so a loser's
  object is never read, and a task's state is in the index before the next task of
  its session can be bound (the session's lock is released in that same script).

Without ``BROWSING_STATE_KEY`` nothing is loaded or saved, and a task says so in its
``info.session``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis
from botocore.exceptions import BotoCoreError, ClientError

from shared import keys
from shared.errors import BrowsingError, ConfigError, StorageError

KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # AES-GCM's standard nonce, random per object
MAGIC = b"BST1"  # the format of a sealed object: MAGIC, nonce, ciphertext and tag
AD_CONTEXT = b"browsing-session-state/v1"


class StateUnreadable(BrowsingError):
    """The stored browser state cannot be opened (another key, or a changed object)."""


def parse_state_key(raw: str) -> bytes | None:
    """``BROWSING_STATE_KEY``: 32 bytes written as 64 hex digits or as base64 (e.g.
    ``openssl rand -base64 32``); empty: no key, so no persistence. A message never
    shows the value."""
    text = raw.strip()
    if not text:
        return None
    key: bytes | None = None
    if len(text) == 2 * KEY_BYTES:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = None
    if key is None:
        try:
            padded = text + "=" * (-len(text) % 4)
            key = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
        except (binascii.Error, ValueError):
            key = None
    if key is None or len(key) != KEY_BYTES:
        raise ConfigError(
            "BROWSING_STATE_KEY must be 32 random bytes written as 64 hex digits or as "
            "base64 (e.g. the output of `openssl rand -base64 32`)"
        )
    return key


def _framed(*parts: str) -> bytes:
    """Each part with its length first: ("a", "bc") and ("ab", "c") never collide."""
    out = b""
    for part in parts:
        data = part.encode("utf-8")
        out += struct.pack(">I", len(data)) + data
    return out


def session_hash(owner: str, session_key: str) -> str:
    """The session's name in object names and Redis key names (64 hex digits)."""
    return hashlib.sha256(b"browsing-session/v1" + _framed(owner, session_key)).hexdigest()


def associated_data(owner: str, session_key: str) -> bytes:
    return AD_CONTEXT + _framed(owner, session_key)


def seal(key: bytes, owner: str, session_key: str, plaintext: bytes) -> bytes:
    """Encrypt a state for (owner, session_key) with AES-GCM, under a fresh random nonce."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, associated_data(owner, session_key))
    return MAGIC + nonce + sealed


def unseal(key: bytes, owner: str, session_key: str, blob: bytes) -> bytes:
    """The plaintext ``seal`` took; StateUnreadable if the key, the user, the session or
    a single byte differs."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not blob.startswith(MAGIC) or len(blob) < len(MAGIC) + NONCE_BYTES + 16:
        raise StateUnreadable("the stored browser state is not in a known format")
    nonce = blob[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(
            nonce, blob[len(MAGIC) + NONCE_BYTES :], associated_data(owner, session_key)
        )
    except InvalidTag as exc:
        raise StateUnreadable() from exc


@dataclass(frozen=True, kw_only=True)
class SessionEntry:
    """One session of a user's, as the index holds it."""

    session_key: str
    object_key: str
    updated_ms: int
    expires_ms: int
    size: int
    task_id: str

    @classmethod
    def from_json(cls, session_key: str, raw: str) -> SessionEntry:
        data = json.loads(raw)
        return cls(
            session_key=session_key,
            object_key=str(data["object"]),
            updated_ms=int(data["updated_ms"]),
            expires_ms=int(data["expires_ms"]),
            size=int(data["size"]),
            task_id=str(data.get("task_id", "")),
        )


def _script(name: str) -> str:
    lua = resources.files("shared") / "lua"
    return (lua / "common.lua").read_text() + "\n" + (lua / f"{name}.lua").read_text()


# How long a forgotten session is remembered as such: longer than any task may run (the
# longest timeout, 3 h, plus the reaper's grace), so a task running when it was
# forgotten cannot bring its state back.
FORGOTTEN_KEPT_S = 4 * 3600


def _live_entry(session_key: str, raw: str | None, now_ms: int) -> SessionEntry | None:
    """An index entry read back, unless it is missing, unreadable or expired."""
    if raw is None:
        return None
    try:
        entry = SessionEntry.from_json(session_key, raw)
    except (KeyError, TypeError, ValueError):
        return None
    return entry if entry.expires_ms > now_ms else None


class SessionIndex:
    """The per-user index of sessions and the attempts' session notes, in Redis. The
    one door to those keys: writes go through shared/lua/session_*.lua (and the index
    write of a finished task through common.lua's ``end_session``)."""

    def __init__(self, client: redis.Redis) -> None:
        self.redis = client
        self._note = client.register_script(_script("session_note"))
        self._forget = client.register_script(_script("session_forget"))

    def get(self, owner: str, session_key: str, now_ms: int) -> SessionEntry | None:
        """The session's latest state, unless it has expired (or there is none)."""
        return _live_entry(session_key, self.redis.hget(keys.sessions(owner), session_key), now_ms)

    def list(self, owner: str, now_ms: int) -> list[SessionEntry]:
        """The user's sessions that have not expired, most recently saved first."""
        found = self.redis.hgetall(keys.sessions(owner)).items()
        out = [e for key, raw in found if (e := _live_entry(key, raw, now_ms)) is not None]
        return sorted(out, key=lambda e: (-e.updated_ms, e.session_key))

    def forget(self, owner: str, session_key: str, now_ms: int) -> SessionEntry | None:
        """Take the session out of the index; the entry it had, if not expired."""
        raw = self._forget(
            keys=[keys.sessions(owner), keys.forgotten_sessions(owner)],
            args=[session_key, now_ms, FORGOTTEN_KEPT_S],
        )
        return _live_entry(session_key, raw, now_ms)

    def note(self, task_id: str, attempt: int, node: str, note: dict[str, Any]) -> bool:
        """Write the attempt's session note (what it loaded, what it staged), only while
        the attempt runs on ``node``: False if it was fenced meanwhile."""
        body = json.dumps(note, separators=(",", ":"), ensure_ascii=False)
        return bool(self._note(keys=[keys.task(task_id)], args=[attempt, node, body]))


class StateStorage:
    """The sealed state objects in the bucket, beside the screenshots: the same client,
    bucket and bounds (shared/storage.py), another prefix."""

    def __init__(self, storage: Any, prefix: str, ttl_s: int) -> None:
        self.storage = storage  # a ScreenshotStorage
        self.prefix = prefix
        self.ttl_s = ttl_s

    def object_key(self, owner: str, session_key: str, task_id: str, attempt: int) -> str:
        # One name per save: a fanout loser's object never overwrites the winner's.
        name = task_id.replace(":", "-")
        return f"{self.session_prefix(owner, session_key)}{name}.{attempt}.bin"

    def session_prefix(self, owner: str, session_key: str) -> str:
        return f"{self.prefix}{session_hash(owner, session_key)}/"

    def put(self, object_key: str, blob: bytes) -> None:
        storage = self.storage
        storage.ensure_bucket()
        try:
            storage.client.put_object(
                Bucket=storage.bucket,
                Key=object_key,
                Body=blob,
                ContentType="application/octet-stream",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store browser state: {exc}") from exc

    def get(self, object_key: str) -> tuple[bytes, float] | None:
        """The object's bytes and when it was written (epoch s); None if it is gone."""
        storage = self.storage
        try:
            obj = storage.client.get_object(Bucket=storage.bucket, Key=object_key)
            return obj["Body"].read(), obj["LastModified"].timestamp()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NoSuchBucket"):
                return None
            raise StorageError(f"cannot read browser state: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read browser state: {exc}") from exc

    def _list(self, prefix: str) -> list[dict[str, Any]]:
        storage = self.storage
        found: list[dict[str, Any]] = []
        try:
            pages = storage.client.get_paginator("list_objects_v2").paginate(
                Bucket=storage.bucket, Prefix=prefix
            )
            for page in pages:
                found.extend(page.get("Contents", ()))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
                return []
            raise StorageError(f"cannot list browser state: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot list browser state: {exc}") from exc
        return found

    def delete(self, keys_: list[str]) -> None:
        for start in range(0, len(keys_), 1000):  # DeleteObjects takes 1,000 at most
            self.storage.delete_keys(keys_[start : start + 1000])

    def delete_session(self, owner: str, session_key: str, *, keep: str = "") -> int:
        """Delete the session's objects (but ``keep``); returns how many."""
        found = [o["Key"] for o in self._list(self.session_prefix(owner, session_key))]
        doomed = [k for k in found if k != keep]
        self.delete(doomed)
        return len(doomed)

    def sweep_expired(self, now_s: float) -> list[str]:
        """Delete state objects older than the TTL (the index hides them already, and a
        load refuses them): for every store, lifecycle rules or not."""
        cutoff = now_s - self.ttl_s
        expired = [o["Key"] for o in self._list(self.prefix)
                   if o["LastModified"].timestamp() < cutoff]  # fmt: skip
        self.delete(expired)
        return expired
