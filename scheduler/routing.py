"""Which nodes may take a task, and which of them should. Pure logic, no I/O."""

from __future__ import annotations

import random
from collections.abc import Sequence

from shared.errors import RoutingError
from shared.registry import NodeInfo
from shared.request import NodeFilter

__all__ = ["NodeFilter", "choose_nodes", "eligible_nodes", "no_node_error"]

_RNG = random.Random()  # seeding one per call (os.urandom) cost more than the choice


def no_node_error(node_filter: NodeFilter) -> str:
    """Why a task fails at once: no live, eligible node matches its filter (or, without
    one, no node takes tasks at all)."""
    if node_filter.country_iso is None and node_filter.node_uid is None:
        return "no live browsing node is available (every node is drained, stopping or dead)"
    return f"no live browsing node matches {node_filter.describe()}"


def eligible_nodes(
    nodes: Sequence[NodeInfo], node_filter: NodeFilter, *, now_ms: int, dead_after_ms: int
) -> list[NodeInfo]:
    return [
        n for n in nodes if n.eligible and n.live(now_ms, dead_after_ms) and node_filter.matches(n)
    ]


def choose_nodes(
    candidates: Sequence[NodeInfo],
    count: int,
    *,
    node_filter: NodeFilter,
    preferred: str | None = None,
    exclude: frozenset[str] = frozenset(),
    rng: random.Random | None = None,
) -> list[NodeInfo]:
    """Up to ``count`` distinct nodes: the preferred (affinity) node first if it is a
    candidate, then the most free capacity first; among nodes as free as each other, the
    one whose slot freed longest ago (a node's process prepares its next browser context
    after each task, so the one that freed a slot a moment ago is still busy with that),
    then at random."""
    rng = rng or _RNG
    pool = [n for n in candidates if n.uid not in exclude]
    if not pool:
        raise RoutingError(no_node_error(node_filter))
    rng.shuffle(pool)
    pool.sort(key=lambda n: (-n.free, n.released_ms))  # stable: the shuffle breaks ties
    for i, node in enumerate(pool):
        if node.uid == preferred:
            pool.insert(0, pool.pop(i))
            break
    return pool[:count]
