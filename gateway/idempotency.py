"""The Idempotency-Key request header of POST /async and /sync (IETF httpapi draft
"The Idempotency-Key HTTP Header Field").

A key is scoped to its user and kept ``idempotency_ttl_s`` (24 h) from the creation of the
task it made. The same key with the same request answers that task again (its task_id;
/sync waits for it, or answers its result), with ``Idempotent-Replayed: true``; with
another request it is a 422. The request is compared by a fingerprint of its normalized
form (``TaskRequest``), so key order, whitespace and fields left at their defaults do not
matter; /async and /sync share keys (the endpoint is not part of the fingerprint).
Whether a key is taken, and taking it, is decided in create.lua together with the
owner's limits: concurrent duplicates create one task, and a submit refused with 429
leaves the key free.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from shared.errors import IdempotencyMismatch, ValidationError
from shared.request import TaskRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_CHARS = 255


@dataclass(frozen=True)
class IdempotencyKey:
    key_hash: str  # the key's sha256 hex: Redis keeps it per owner (keys.idempotency)
    fingerprint: str  # sha256 of the normalized request


def _unquote(value: str) -> str:
    """The draft sends the key as a Structured Field string ("..."): its content. A bare
    token is taken as it is."""
    if len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        out, escaped = [], False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return value


def parse_header(raw: str | None) -> str | None:
    """The key a request sent, None if it sent none; ValidationError (400) if it is empty,
    longer than 255 characters (quotes included), or holds other than printable ASCII."""
    if raw is None:
        return None
    value = raw.strip()
    key = _unquote(value)
    if not key:
        raise ValidationError(
            f"invalid {HEADER}: it is empty; send 1 to {MAX_KEY_CHARS} characters, "
            "e.g. a UUID, or no header"
        )
    if len(value) > MAX_KEY_CHARS:
        raise ValidationError(
            f"invalid {HEADER}: {len(value)} characters, more than the {MAX_KEY_CHARS} allowed"
        )
    if not all(" " <= char <= "~" for char in value):
        raise ValidationError(f"invalid {HEADER}: only printable ASCII characters are allowed")
    return key


def fingerprint(request: TaskRequest) -> str:
    """The normalized request, its webhook included (kept out of ``to_dict`` so that the
    secret stays out of the request JSON; only this hash of it is stored)."""
    document = request.to_dict()
    if request.webhook is not None:
        document["webhook"] = {"url": request.webhook.url, "secret": request.webhook.secret}
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def for_request(key: str, request: TaskRequest) -> IdempotencyKey:
    return IdempotencyKey(hashlib.sha256(key.encode()).hexdigest(), fingerprint(request))


def mismatch(task_id: str) -> IdempotencyMismatch:
    return IdempotencyMismatch(
        f"this {HEADER} was already used for a different request (task {task_id}); "
        "use a new key for a new request, or resend the same body to get that task"
    )
