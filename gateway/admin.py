"""The operators' API (/api/v1/admin): the nodes, drain and undrain, forgetting a
retired node, what waits for a node, and the tasks that failed last. Only admin keys may
use it (shared/apikeys.py); any other valid key gets 403. The console's operator pages
and scripts use it, so operators need no direct access to Redis."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from gateway.api import authenticate, services
from shared import fleet
from shared.clock import iso_utc
from shared.errors import ForbiddenError, NotFoundError, ValidationError
from shared.registry import NodeInfo, NodeRegistry

bp = Blueprint("admin", __name__, url_prefix="/api/v1/admin")
FAILURES_DEFAULT = 20


@bp.before_request
def admins_only() -> None:
    authenticate()
    if not g.admin:
        raise ForbiddenError(
            "this API key is not an admin key: operators make one with "
            "'browsing keys create USER --admin' or BROWSING_ADMIN_USERS"
        )


def _registry() -> NodeRegistry:
    return services().registry


def _node_body(node: NodeInfo, now_ms: int) -> dict[str, Any]:
    dead_after_ms = int(services().settings.node_dead_after_s * 1000)
    return fleet.node_body(node, now_ms=now_ms, dead_after_ms=dead_after_ms)


@bp.get("/nodes")
def nodes() -> Any:
    now_ms = services().store.now_ms()
    return jsonify({"nodes": [_node_body(n, now_ms) for n in _registry().all()]})


def _set_drained(uid: str, drained: bool) -> Any:
    registry = _registry()
    if not registry.set_drained(uid, drained):
        raise NotFoundError(f"no node {uid[:80]!r} is registered")
    node = registry.get(uid)
    if node is None:  # it deregistered (stopped) just after the change
        raise NotFoundError(f"no node {uid[:80]!r} is registered")
    return jsonify(_node_body(node, services().store.now_ms()))


@bp.post("/nodes/<uid>/drain")
def drain(uid: str) -> Any:
    """No new task is bound to the node; what it runs finishes (state ``draining``)."""
    return _set_drained(uid, True)


@bp.post("/nodes/<uid>/undrain")
def undrain(uid: str) -> Any:
    return _set_drained(uid, False)


@bp.delete("/nodes/<uid>")
def forget(uid: str) -> Any:
    """Forget a dead node that was retired: it is no longer listed, nor reported as down
    in the metrics (whose NoLiveNodeForCountry alert counts a country's dead nodes until
    then). 409 while the node is alive or attempts are still on it; a forgotten node that
    starts again registers again."""
    fleet.forget_node(
        _registry(),
        uid,
        now_ms=services().store.now_ms(),
        dead_after_s=services().settings.node_dead_after_s,
    )
    return "", 204


@bp.get("/queues")
def queues() -> Any:
    """Tasks waiting for a node, by country and by user (the fair scheduler's wait sets),
    and each waiting user's tasks on nodes."""
    store = services().store
    countries = sorted({n.country for n in _registry().all() if n.country})
    places = fleet.waiting_places(store, countries)
    waiting = store.waiting_by_owner()
    active = fleet.active_by_owner(store, sorted(waiting))
    return jsonify(
        {
            "waiting": sum(places.values()),
            "places": [{"where": where, "waiting": n} for where, n in places.items()],
            "users": [
                {"user": user, "waiting": n, "active": active[user]}
                for user, n in sorted(waiting.items(), key=lambda item: (-item[1], item[0]))
            ],
        }
    )


@bp.get("/failures")
def failures() -> Any:
    raw = request.args.get("limit", str(FAILURES_DEFAULT))
    kept = fleet.FAILURES_KEPT
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= kept:
        raise ValidationError(f"limit must be a whole number from 1 to {kept}, got {raw[:20]!r}")
    found = fleet.recent_failures(services().store, int(raw))
    return jsonify(
        {
            "failures": [
                {
                    "task_id": f.task_id,
                    "owner": f.owner,
                    "error": f.error,
                    "failed_at": iso_utc(f.failed_ms),
                    "node_uid": f.node,
                }
                for f in found
            ]
        }
    )
