"""Webhooks: where a task's final status is POSTed, how it is signed, and the outbox
that makes the delivery durable.

Signing follows the Standard Webhooks specification (standardwebhooks.com): each try
carries ``webhook-id`` (the same on every retry), ``webhook-timestamp`` (epoch seconds of
the try) and ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
keyed with the base64-decoded part of a ``whsec_...`` secret after its prefix.

The outbox (``keys.WEBHOOK_OUTBOX``) is a sorted set of task ids by when their next try
is due. The record scripts add a task to it in the same step that writes its terminal
status (``finalize_many`` in shared/lua/common.lua), so no delivery is lost to a crash
between the two. A deliverer takes due entries with a lease (webhook_take.lua: the
entry's due time moves past the lease), so several schedulers never send one at once and
a killed scheduler's entries are taken again when its lease runs out; it reports each
try (webhook_report.lua), which is accepted only while its lease is the entry's latest.

A secret is never shown: not in a status body, a log line or an error message. The
request's secret is kept in the record's own ``webhook`` field, outside the request JSON
that nodes read and logs may show.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

from shared import keys

if TYPE_CHECKING:  # the signing half (``verify``) is the Python client's: no redis there
    import redis
    from redis.client import Pipeline

SECRET_PREFIX = "whsec_"
# Standard Webhooks: keys of 24 to 64 bytes.
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
NEW_KEY_BYTES = 32
MAX_URL_CHARS = 2048
EVENTS = ("task.completed", "task.failed")
# A rotated user secret still signs (a second signature) this long, so that receivers
# can switch to the new one without refusing deliveries meanwhile.
ROTATION_OVERLAP_MS = 24 * 3600 * 1000


class SecretFormatError(ValueError):
    """Not a ``whsec_`` secret: the message never includes the value."""


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise SecretFormatError(f"a signing secret starts with {SECRET_PREFIX}")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretFormatError(
            f"a signing secret is {SECRET_PREFIX} followed by base64 text"
        ) from exc
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise SecretFormatError(
            f"a signing secret's key is {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes "
            "(base64-encoded after the prefix)"
        )
    return key


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(NEW_KEY_BYTES)).decode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of a message."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign_headers(secrets_: list[str], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The Standard Webhooks headers of one try, signed with each secret (space
    separated, as the specification allows during a rotation)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, msg_id, timestamp, body) for s in secrets_),
    }


def verify(
    secret: str, headers: dict[str, str], body: bytes, *, now_s: int, tolerance_s: int = 300
) -> bool:
    """What a receiver checks: one of the signatures matches, and the timestamp is
    within ``tolerance_s`` of ``now_s`` (a replayed message is refused)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lower["webhook-timestamp"])
        expected = signature(secret, lower["webhook-id"], timestamp, body)
    except (KeyError, ValueError):
        return False
    if abs(now_s - timestamp) > tolerance_s:
        return False
    return any(
        hmac.compare_digest(expected, given) for given in lower["webhook-signature"].split(" ")
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Webhook:
    """Where a task's final status goes; ``secret`` None: signed with the owner's own
    signing secret. The secret is left out of ``repr``."""

    url: str
    secret: str | None = field(default=None, repr=False)

    def to_json(self) -> str:
        """The record's ``webhook`` field (the secret included: it never leaves Redis
        but to sign)."""
        raw: dict[str, str] = {"url": self.url}
        if self.secret is not None:
            raw["secret"] = self.secret
        return json.dumps(raw, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Webhook:
        raw = json.loads(text)
        return cls(url=raw["url"], secret=raw.get("secret"))


@dataclass(frozen=True, kw_only=True)
class DeliveryState:
    """A webhook's delivery as far as it went (``keys.webhook``)."""

    attempts: int = 0
    last_status: int | None = None  # the receiver's HTTP status of the last try
    last_error: str | None = None  # why the last try got no answer (refused, timed out)
    result: str | None = None  # None while pending; delivered, stopped, gave_up, refused
    next_try_ms: int | None = None
    delivered_ms: int | None = None

    @classmethod
    def from_hash(cls, h: dict[str, str]) -> DeliveryState:
        def number(name: str) -> int | None:
            value = h.get(name)
            return int(value) if value not in (None, "") else None

        return cls(
            attempts=int(h.get("attempts") or 0),
            last_status=number("last_status"),
            last_error=h.get("last_error") or None,
            result=h.get("result") or None,
            next_try_ms=number("next_try_ms"),
            delivered_ms=number("delivered_ms"),
        )


@dataclass(frozen=True)
class Lease:
    """A due outbox entry taken by one deliverer: its try must be reported with
    ``token``, which a later take of the same entry replaces."""

    task_id: str
    token: int
    due_ms: int  # when the entry was first due: the task's finish
    attempts: int  # tries made before this one


def _script(name: str) -> str:
    return (resources.files("shared") / "lua" / f"{name}.lua").read_text()


class WebhookStore:
    """The outbox, each delivery's state, and the users' signing secrets. Safe to share
    between threads."""

    def __init__(self, client: redis.Redis, *, state_ttl_s: int) -> None:
        self.redis = client
        self.state_ttl_s = state_ttl_s
        self._take = client.register_script(_script("webhook_take"))
        self._report = client.register_script(_script("webhook_report"))

    def take_due(self, now_ms: int, *, lease_ms: int, limit: int) -> tuple[list[Lease], int | None]:
        """Up to ``limit`` entries due by ``now_ms``, each leased for ``lease_ms``; and
        when the next entry left is due (epoch ms, None if none)."""
        reply = self._take(keys=[keys.WEBHOOK_OUTBOX], args=[now_ms, lease_ms, limit, keys.PREFIX])
        *taken, next_due = reply
        leases = [Lease(str(t), int(token), int(due), int(n)) for t, token, due, n in taken]
        return leases, int(next_due) if next_due not in (None, "", False) else None

    def report(
        self,
        lease: Lease,
        *,
        outcome: str,
        now_ms: int,
        status: int | None = None,
        error: str = "",
        next_try_ms: int = 0,
    ) -> bool:
        """Record one try: ``outcome`` 'retry' puts the entry back due at ``next_try_ms``;
        'delivered', 'stopped', 'gave_up', 'refused' and 'expired' take it out. False
        when the lease was taken over meanwhile (nothing is written then)."""
        args = [lease.task_id, lease.token, outcome, now_ms, "" if status is None else status]
        args += [error[:300], next_try_ms, self.state_ttl_s]
        state_key = keys.webhook(lease.task_id)
        return int(self._report(keys=[keys.WEBHOOK_OUTBOX, state_key], args=args)) == 1

    def freeze_body(self, task_id: str, body: bytes) -> bytes:
        """The body every try of this delivery sends: the first one stored wins."""
        key = keys.webhook(task_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hsetnx(key, "body", body)
        pipe.hget(key, "body")
        _, stored = pipe.execute()
        return stored.encode() if isinstance(stored, str) else stored

    def state(self, task_id: str) -> DeliveryState:
        return DeliveryState.from_hash(self.redis.hgetall(keys.webhook(task_id)) if task_id else {})

    def states(self, task_ids: list[str]) -> list[DeliveryState]:
        pipe = self.redis.pipeline(transaction=False)
        for task_id in task_ids:
            pipe.hmget(keys.webhook(task_id), *STATE_FIELDS)
        return [
            DeliveryState.from_hash(dict(zip(STATE_FIELDS, values, strict=True)))
            for values in pipe.execute()
        ]

    def pending(self) -> int:
        """Deliveries not finished yet (due, leased or waiting to retry)."""
        return int(self.redis.zcard(keys.WEBHOOK_OUTBOX))

    def wakeups(self) -> Any:
        """A subscription to ``keys.WEBHOOK_CHANNEL``: a task with a webhook finished."""
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(keys.WEBHOOK_CHANNEL)
        return pubsub

    # The owner's own signing secret.

    def user_secret(self, owner: str) -> str:
        """The owner's signing secret, made on first use."""
        key = keys.webhook_secret(owner)
        current = self.redis.hget(key, "current")
        if current:
            return current
        self.redis.hsetnx(key, "current", new_secret())
        return self.redis.hget(key, "current")

    def rotate_user_secret(self, owner: str, now_ms: int) -> str:
        """A new signing secret for the owner; the one it replaces still signs (a second
        signature) for ``ROTATION_OVERLAP_MS``."""
        key = keys.webhook_secret(owner)
        self.user_secret(owner)  # creates the first one if there is none yet
        fresh = new_secret()

        def rotate(pipe: Pipeline) -> None:
            # Read and replace at once (WATCH): of two rotations at the same moment, the
            # second keeps the first's new secret as its previous one.
            previous = pipe.hget(key, "current")
            pipe.multi()
            pipe.hset(key, mapping={"current": fresh, "previous": previous, "rotated_ms": now_ms})

        self.redis.transaction(rotate, key)
        return fresh

    def user_signing_secrets(self, owner: str, now_ms: int) -> list[str]:
        """The secrets a delivery of the owner's is signed with: the current one, and
        the previous one while a rotation is recent."""
        current = self.user_secret(owner)
        previous, rotated = self.redis.hmget(keys.webhook_secret(owner), "previous", "rotated_ms")
        if previous and rotated and now_ms - int(rotated) < ROTATION_OVERLAP_MS:
            return [current, previous]
        return [current]


STATE_FIELDS = ("attempts", "last_status", "last_error", "result", "next_try_ms", "delivered_ms")
