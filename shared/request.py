"""A task request as the gateway accepted it: the one type the record stores and the
scheduler and nodes read.

The gateway's validation (``gateway/validation.py``) builds it and owns the error
messages; this module owns the fields, their defaults, and the JSON the task record
holds. That JSON is what earlier versions wrote, key for key, so records written before
this type existed read back unchanged, and records it writes stay readable by them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.errors import ValidationError
from shared.templates import DEFAULT_TEMPLATE
from shared.uploads import UploadRef
from shared.webhooks import Webhook

if TYPE_CHECKING:
    from shared.registry import NodeInfo

# In the order error messages and the CLI list them.
SCREENSHOT_MODES: tuple[str, ...] = ("final_only", "every_step", "on_navigation")
DEFAULT_FANOUT = 1  # nodes a task races on unless it asks for more


@dataclass(frozen=True, kw_only=True, slots=True)
class ScreenshotPolicy:
    """Which screenshots an attempt takes; ``mode`` None takes none."""

    mode: str | None = None  # None or one of SCREENSHOT_MODES
    full_page: bool = True  # used by final_only

    def __post_init__(self) -> None:
        # Fail when the policy is built, not halfway through a browsing run.
        if self.mode is not None and self.mode not in SCREENSHOT_MODES:
            raise ValidationError(f"unknown screenshot mode: {self.mode!r}")

    def to_dict(self) -> dict[str, Any] | None:
        return None if self.mode is None else {"mode": self.mode, "full_page": self.full_page}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> ScreenshotPolicy:
        if not raw:
            return NO_SCREENSHOTS
        return cls(mode=raw.get("mode"), full_page=raw.get("full_page", True))


NO_SCREENSHOTS = ScreenshotPolicy()


@dataclass(frozen=True, kw_only=True, slots=True)
class NodeFilter:
    """Which nodes may take the task: one country, one node, or (both None) any."""

    country_iso: str | None = None  # upper case, as validation leaves it
    node_uid: str | None = None

    def matches(self, node: NodeInfo) -> bool:
        if self.node_uid is not None and node.uid != self.node_uid:
            return False
        if self.country_iso is not None and node.country.upper() != self.country_iso:
            return False
        return True

    def describe(self) -> str:
        if self.node_uid is not None:
            return f"node_uid={self.node_uid}"
        if self.country_iso is not None:
            return f"country_iso={self.country_iso}"
        return "no filter"

    def to_dict(self) -> dict[str, str]:
        if self.country_iso is not None:
            return {"country_iso": self.country_iso}
        if self.node_uid is not None:
            return {"node_uid": self.node_uid}
        return {}

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> NodeFilter:
        if not raw:
            return ANY_NODE
        country = raw.get("country_iso") or None  # "" is no filter, as validation reads it
        return cls(
            country_iso=country.upper() if country else None,
            node_uid=raw.get("node_uid") or None,
        )


ANY_NODE = NodeFilter()


@dataclass(frozen=True, kw_only=True, slots=True)
class TaskRequest:
    """What a client asked for, normalized. ``timeout_ms`` has no default here: it is a
    setting, applied by validation."""

    task: str
    timeout_ms: int
    screenshots: ScreenshotPolicy = field(default=NO_SCREENSHOTS)
    filter: NodeFilter = field(default=ANY_NODE)
    session_key: str | None = None
    fanout: int = DEFAULT_FANOUT
    template: str = DEFAULT_TEMPLATE
    # Files the task may put into file inputs (shared/uploads.py); the gateway checked
    # each is the owner's and unexpired.
    uploads: tuple[UploadRef, ...] = ()
    # False: the task neither loads nor saves its session's browser state.
    session_persist: bool = True
    # ``"record": {"trace": true}``: the winning attempt's Playwright trace is kept.
    record_trace: bool = False
    # A JSON Schema the result's ``data`` must match (shared/output_schema.py).
    output_schema: dict[str, Any] | None = None
    # Not part of the request JSON (``to_dict``): the record keeps it in a field of its
    # own, so that its secret is never where nodes read or logs show the request.
    webhook: Webhook | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record's form: the keys and values earlier versions stored."""
        body: dict[str, Any] = {
            "task": self.task,
            "screenshots": self.screenshots.to_dict(),
            "filter": self.filter.to_dict(),
            "session_key": self.session_key,
            "timeout_ms": self.timeout_ms,
            "fanout": self.fanout,
            "template": self.template,
            # Only when false: records of tasks that keep the default read as before.
            **({} if self.session_persist else {"session_persist": False}),
        }
        if self.uploads:  # only then: a task without uploads is stored as before
            body["uploads"] = [upload.to_dict() for upload in self.uploads]
        if self.record_trace:  # only when asked: other records keep their form
            body["record"] = {"trace": True}
        if self.output_schema is not None:  # only when given, likewise
            body["output_schema"] = self.output_schema
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TaskRequest:
        """A request from its record form; an absent or null optional field takes its
        default, so a record is read the same whichever fields it was written with."""
        return cls(
            task=raw["task"],
            timeout_ms=int(raw["timeout_ms"]),
            screenshots=ScreenshotPolicy.from_dict(raw.get("screenshots")),
            filter=NodeFilter.from_dict(raw.get("filter")),
            session_key=raw.get("session_key"),
            fanout=int(raw.get("fanout") or DEFAULT_FANOUT),
            template=raw.get("template") or DEFAULT_TEMPLATE,
            uploads=tuple(UploadRef.from_dict(u) for u in raw.get("uploads") or ()),
            session_persist=raw.get("session_persist") is not False,
            record_trace=bool((raw.get("record") or {}).get("trace")),
            output_schema=raw.get("output_schema"),
        )

    @classmethod
    def from_json(cls, text: str) -> TaskRequest:
        return cls.from_dict(json.loads(text))
