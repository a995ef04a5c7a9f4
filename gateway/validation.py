"""Turn a request body into a normalized task request, or say exactly what is wrong."""

from __future__ import annotations

import functools
import json
import math
import re
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from shared.config import Settings
from shared.egress import DEFAULT_PORTS, EgressPolicy
from shared.errors import EgressRefused, ValidationError
from shared.output_schema import parse_output_schema
from shared.request import (
    ANY_NODE,
    DEFAULT_FANOUT,
    NO_SCREENSHOTS,
    SCREENSHOT_MODES,
    NodeFilter,
    ScreenshotPolicy,
    TaskRequest,
)
from shared.templates import DEFAULT_TEMPLATE, require_template
from shared.webhooks import MAX_URL_CHARS as MAX_WEBHOOK_URL_CHARS
from shared.webhooks import SecretFormatError, Webhook, secret_key

COUNTRY = re.compile(r"^[A-Za-z]{2}$")
MAX_TASK_CHARS = 20_000
MAX_KEY_CHARS = 256
# A request body nests a few levels; a deeper one is a hostile or broken client.
MAX_JSON_DEPTH = 32


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"duplicate key {duplicate!r}")
    return obj


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (a JSON number is finite)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: valid JSON, but no float holds it
        raise ValueError(f"the number {text[:20]} is too large")
    return value


# NaN, Infinity and -Infinity are Python's extensions, not JSON: refused like any other;
# so is a number too large for a float, which Python would read as Infinity.
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicate_keys, parse_constant=_not_json, parse_float=_finite
)


def shown(value: Any, limit: int = 40) -> str:
    """A value of the request as JSON writes it (true, "1000", 1.5), cut to ``limit``."""
    return json.dumps(value, ensure_ascii=False)[:limit]


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            todo.extend((child, depth + 1) for child in (
                item.values() if isinstance(item, dict) else item))  # fmt: skip
    return deepest


def parse_json(raw: bytes) -> Any:
    """A request body as JSON: strict UTF-8 (a BOM allowed), no duplicate keys, at most
    ``MAX_JSON_DEPTH`` levels of arrays and objects. Raises ValueError (UnicodeDecodeError
    among them) or RecursionError (nested past what the decoder itself can take)."""
    value = _DECODER.decode(raw.decode("utf-8-sig"))
    # Counting brackets is C-fast; only a body with more of them than the limit can be
    # nested past it, and only that one is walked.
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise RecursionError("too deep")
    return value


def _encodable(value: str, name: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{name} is not valid Unicode text (lone surrogate)") from exc
    if "\x00" in value:
        raise ValidationError(f"{name} must not contain NUL characters")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: Any) -> Any:
    """A whole number written as a float (1000.0, 1e3) as the int it is: JSON has one
    number type, and a client that computed the value may send it so. Anything else
    as it came."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _screenshots(raw: Any) -> ScreenshotPolicy:
    if raw is None:
        return NO_SCREENSHOTS
    if not isinstance(raw, dict):
        raise ValidationError('screenshots must be an object like {"mode": "final_only"}')
    mode = raw.get("mode")
    if mode is None:
        raise ValidationError(
            "screenshots.mode is required when screenshots is present: "
            f"one of {', '.join(SCREENSHOT_MODES)}"
        )
    if mode not in SCREENSHOT_MODES:
        raise ValidationError(
            f"screenshots.mode must be one of {', '.join(SCREENSHOT_MODES)}, got {shown(mode)}"
        )
    full_page = raw.get("full_page", True)
    if full_page is None:
        full_page = True
    if not isinstance(full_page, bool):
        raise ValidationError("screenshots.full_page must be true or false")
    return ScreenshotPolicy(mode=mode, full_page=full_page)


def _filter(raw: Any) -> NodeFilter:
    if raw is None:
        return ANY_NODE
    if not isinstance(raw, dict):
        raise ValidationError("filter must be an object with country_iso or node_uid")
    # A misspelt selector ignored would lift the constraint the client asked for.
    unknown = sorted(str(k) for k in raw if k not in ("country_iso", "node_uid"))
    if unknown:
        raise ValidationError(
            f"filter has an unknown field {unknown[0][:40]!r}: its fields are country_iso "
            "(a 2-letter code such as DE) or node_uid"
        )
    country, node_uid = raw.get("country_iso"), raw.get("node_uid")
    if country is not None and node_uid is not None:
        raise ValidationError("filter.country_iso and filter.node_uid are mutually exclusive")
    if country is not None:
        if not isinstance(country, str) or not COUNTRY.match(country):
            raise ValidationError("filter.country_iso must be a 2-letter ISO code such as DE")
        return NodeFilter(country_iso=country.upper())
    if node_uid is not None:
        if not isinstance(node_uid, str) or not node_uid.strip() or len(node_uid) > 128:
            raise ValidationError("filter.node_uid must be a non-empty node uid string")
        return NodeFilter(node_uid=_encodable(node_uid.strip(), "filter.node_uid"))
    return ANY_NODE


def _bounded_int(
    body: dict[str, Any], name: str, default: int, low: int, high: int, unit: str
) -> int:
    value = _whole(body.get(name))
    if value is None:
        return default
    if not _is_int(value) or not low <= value <= high:
        raise ValidationError(
            f"{name} must be an integer from {low} to {high}{unit}, got {shown(value)}"
        )
    return value


def parse_task_request(body: Any, settings: Settings) -> TaskRequest:
    if not isinstance(body, dict):
        raise ValidationError("request body must be a JSON object")
    task = body.get("task")
    if task is None:
        raise ValidationError(
            "missing task: give the instruction to run, e.g. "
            '{"task": "Open https://example.com and summarize the page"}'
        )
    if not isinstance(task, str) or not task.strip():
        raise ValidationError("task must be a non-empty string")
    if len(task) > MAX_TASK_CHARS:
        raise ValidationError(f"task is too long: at most {MAX_TASK_CHARS} characters")
    _encodable(task, "task")
    # Optional fields are read with get(): JSON null counts as absent.
    session_key = body.get("session_key")
    if session_key is not None and (
        not isinstance(session_key, str) or not session_key or len(session_key) > MAX_KEY_CHARS
    ):
        raise ValidationError(
            f"session_key must be a non-empty string of at most {MAX_KEY_CHARS} characters"
        )
    if session_key is not None:
        _encodable(session_key, "session_key")
    session_persist = body.get("session_persist")
    if session_persist is not None and not isinstance(session_persist, bool):
        raise ValidationError(
            "session_persist must be true or false (false: the task neither loads nor "
            f"saves its session's browser state), got {shown(session_persist)}"
        )
    template = body.get("template")
    if template is None:
        template = DEFAULT_TEMPLATE
    if not isinstance(template, str):
        raise ValidationError("template must be a string naming a browsing template")
    require_template(template)
    return TaskRequest(
        task=task.strip(),
        screenshots=_screenshots(body.get("screenshots")),
        filter=_filter(body.get("filter")),
        session_key=session_key,
        timeout_ms=_bounded_int(
            body,
            "timeout",
            settings.task_timeout_default_ms,
            1,
            settings.task_timeout_max_ms,
            " ms",
        ),
        fanout=_bounded_int(body, "fanout", DEFAULT_FANOUT, 1, settings.fanout_max, ""),
        template=template,
        session_persist=session_persist is not False,
        webhook=parse_webhook(body.get("webhook"), egress_policy(settings)),
        record_trace=parse_record(body.get("record")),
        output_schema=parse_output_schema(body.get("output_schema")),
    )


RECORD_KEYS = ("trace",)


def parse_record(raw: Any) -> bool:
    """The request's ``record``: what to record of the winning attempt. Only
    ``{"trace": true|false}`` for now; returns whether to keep a trace."""
    if raw is None:
        return False
    if not isinstance(raw, dict):
        raise ValidationError('record must be an object like {"trace": true}')
    unknown = sorted(set(raw) - set(RECORD_KEYS))
    if unknown:
        raise ValidationError(
            f"record has unknown field {unknown[0][:40]!r}: only trace is allowed"
        )
    trace = raw.get("trace", False)
    if trace is None:
        trace = False
    if not isinstance(trace, bool):
        raise ValidationError("record.trace must be true or false")
    return trace


WEBHOOK_KEYS = ("url", "secret")


def parse_webhook(raw: Any, policy: EgressPolicy) -> Webhook | None:
    """The request's ``webhook``: an http(s) URL the egress policy does not refuse
    outright (a literal address or a denied name: a name's addresses are checked at
    each delivery), and an optional ``whsec_`` secret. No message shows the secret."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValidationError('webhook must be an object like {"url": "https://example.com/hook"}')
    unknown = sorted(set(raw) - set(WEBHOOK_KEYS))
    if unknown:
        raise ValidationError(
            f"webhook has unknown field {unknown[0][:40]!r}: only url and secret are allowed"
        )
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("webhook.url is required: an http:// or https:// URL")
    if len(url) > MAX_WEBHOOK_URL_CHARS:
        raise ValidationError(
            f"webhook.url is too long: at most {MAX_WEBHOOK_URL_CHARS} characters"
        )
    url = _encodable(url.strip(), "webhook.url")
    try:
        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError as exc:
        raise ValidationError(f"webhook.url is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValidationError("webhook.url must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValidationError(
            "webhook.url must not hold credentials (user:password@); "
            "use webhook.secret to let the receiver check the sender"
        )
    if any(c.isspace() for c in url):
        raise ValidationError("webhook.url must not contain spaces")
    rest = url[len(parts.scheme) + 3 + len(parts.netloc) :]
    if any(not 0x20 < ord(c) < 0x7F for c in rest):
        raise ValidationError(
            "webhook.url must be ASCII after the host, without control characters: "
            "percent-encode the path and query (e.g. %C3%BC for \u00fc)"
        )
    try:
        parts.hostname.encode("idna")
    except UnicodeError:
        raise ValidationError(
            f"webhook.url's host {parts.hostname[:80]!r} is not a valid host name"
        ) from None
    refused = policy.refusal(parts.hostname, port)
    if refused is None and policy.deny.matches_name(parts.hostname, port):
        refused = EgressRefused(
            f"egress refused: {parts.hostname} is denied by BROWSING_EGRESS_DENY"
        )
    if refused is not None:
        raise ValidationError(f"webhook.url is refused by the egress policy: {refused.message}")
    secret = raw.get("secret")
    if secret is not None:
        if not isinstance(secret, str):
            raise ValidationError("webhook.secret must be a string like whsec_<base64>")
        try:
            secret_key(secret)
        except SecretFormatError as exc:  # its message never shows the value
            raise ValidationError(f"webhook.secret is not valid: {exc}") from None
    return Webhook(url=url, secret=secret)


@functools.lru_cache(maxsize=8)
def _policy(allow: str, deny: str) -> EgressPolicy:
    return EgressPolicy.from_settings(SimpleNamespace(egress_allow=allow, egress_deny=deny))


def egress_policy(settings: Settings) -> EgressPolicy:
    """The egress policy of ``settings``, parsed once per process."""
    return _policy(settings.egress_allow, settings.egress_deny)
