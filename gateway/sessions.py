"""GET /sessions and DELETE /sessions/{session_key}: a user's sessions with a saved
browser state (README, "Sessions that remember"; shared/sessionstate.py).

The routes join the browsing blueprint (``gateway.api.bp``), so they share its Bearer
authentication; each answers about the caller's own sessions only: the index is per
user, and a session's objects are named by a hash of the user and the key.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g, jsonify

from gateway.api import bp, services
from gateway.validation import MAX_KEY_CHARS
from shared.clock import iso_utc
from shared.errors import NotFoundError, ValidationError
from shared.sessionstate import SessionEntry, SessionIndex, StateStorage

EXTENSION = "browsing-sessions"


def _sessions() -> tuple[SessionIndex, StateStorage]:
    """This app's session index and state storage, built on first use."""
    built = current_app.extensions.get(EXTENSION)
    if built is None:
        svc = services()
        settings = svc.settings
        built = (
            SessionIndex(svc.store.redis),
            StateStorage(svc.storage, settings.session_state_prefix, settings.session_state_ttl_s),
        )
        current_app.extensions[EXTENSION] = built
    return built


def _session_key(raw: str) -> str:
    """A session key from the path, held to the rules a task's session_key follows."""
    if not raw or len(raw) > MAX_KEY_CHARS or "\x00" in raw:
        raise ValidationError(
            f"session_key must be a non-empty string of at most {MAX_KEY_CHARS} characters"
        )
    return raw


def _entry_body(entry: SessionEntry) -> dict[str, Any]:
    return {
        "session_key": entry.session_key,
        "updated_at": iso_utc(entry.updated_ms),
        "expires_at": iso_utc(entry.expires_ms),
        "size": entry.size,
    }


@bp.get("/sessions")
def list_sessions() -> Any:
    index, _ = _sessions()
    entries = index.list(g.user, services().store.now_ms())
    return jsonify({"sessions": [_entry_body(e) for e in entries]})


@bp.delete("/sessions/<path:session_key>")
def forget_session(session_key: str) -> Any:
    """Forget the session: out of the index at once (no task loads it any more), and
    its objects deleted. 404 when the caller has no such session (never saved, expired
    or forgotten already); its objects, if any are left, are deleted all the same."""
    key = _session_key(session_key)
    index, state = _sessions()
    # Objects first: if the store is down (503), the index still names the session and
    # the same DELETE can be sent again.
    state.delete_session(g.user, key)
    entry = index.forget(g.user, key, services().store.now_ms())
    if entry is None:
        raise NotFoundError(
            "no saved session with this session_key: it was never saved, has expired "
            "or was forgotten already"
        )
    return "", 204
