"""A node's identity, derived from the one ``node.<cc>.<nn>`` queue it consumes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shared.config import Settings
from shared.errors import ConfigError

QUEUE_PATTERN = re.compile(r"^node\.([a-z]{2})\.([A-Za-z0-9_-]+)$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class NodeIdentity:
    uid: str
    country: str
    queue: str


def derive_identity(queues: Iterable[str], settings: Settings) -> NodeIdentity:
    """uid = the queue name (``node.de.01``), country = its middle part, both overridable."""
    node_queues = sorted(q for q in queues if q.startswith("node."))
    if len(node_queues) != 1:
        raise ConfigError(
            "a browsing node consumes exactly one node queue, e.g. "
            f"'celery -A nodes worker -Q node.de.01'; got {node_queues or 'none'}"
        )
    queue = node_queues[0]
    match = QUEUE_PATTERN.match(queue)
    country = settings.node_country or (match.group(1) if match else "")
    if not country:
        raise ConfigError(
            f"cannot derive a country from queue {queue!r}; name it node.<cc>.<nn> "
            "or set BROWSING_NODE_COUNTRY"
        )
    return NodeIdentity(uid=settings.node_uid or queue, country=country.upper(), queue=queue)
