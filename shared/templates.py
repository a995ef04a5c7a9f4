"""Browsing templates: JSON files named by their stem in the templates directory.

A template is checked against ``SCHEMA`` when it is loaded, so a typo in a key
or a wrong type fails loudly (ConfigError naming the file and the key)
instead of being ignored on some node halfway through a task. The format is
documented in docs/agent.md.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import time
from collections.abc import Mapping
from importlib import resources
from typing import Any

from shared.errors import ConfigError, ValidationError

DEFAULT_TEMPLATE = "default"
STEM = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

# Playwright's resource types; "document" cannot be blocked, pages would not load.
RESOURCE_TYPES = (
    "stylesheet", "image", "media", "font", "script", "texttrack", "xhr", "fetch",
    "eventsource", "websocket", "manifest", "other",
)  # fmt: skip
_DOMAIN = re.compile(r"^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")

# key -> (type, constraint); a constraint is a (min, max) range, a tuple of
# allowed strings, a nested schema (for objects) or an item pattern (for lists).
Spec = tuple[type | tuple[type, ...], Any]
_NUMBER = (int, float)
LLM_SCHEMA: dict[str, Spec] = {
    "base_url": (str, re.compile(r"^https?://\S+$")),
    "model": (str, None),
    "api_key": (str, None),
    "api_key_env": (str, re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")),
    "temperature": (_NUMBER, (0, 2)),
    "top_p": (_NUMBER, (0, 1)),
    "max_tokens": (int, (1, 1_000_000)),
    "timeout_s": (_NUMBER, (1, 3600)),
    "max_retries": (int, (0, 10)),
    "tool_mode": (str, ("auto", "tools", "json")),
}
SCHEMA: dict[str, Spec] = {
    "description": (str, None),
    "planner": (str, ("rules", "llm", "auto")),
    "llm": (dict, LLM_SCHEMA),
    "system_prompt": (str, None),
    "max_steps": (int, (1, 1000)),
    "max_failures": (int, (1, 100)),
    "max_tokens_total": (int, (1, 1_000_000_000)),
    "vision": (str, ("off", "on", "auto")),
    "viewport": (dict, {"width": (int, (200, 7680)), "height": (int, (200, 4320))}),
    "locale": (str, re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")),
    "timezone": (str, re.compile(r"^[A-Za-z_+-]+(?:/[A-Za-z0-9_+-]+)*$")),
    "user_agent": (str, None),
    "blocked_resource_types": (list, RESOURCE_TYPES),
    "allowed_domains": (list, _DOMAIN),
}


_KIND_NAMES = {int: "an integer", str: "a string", list: "a list", dict: "an object"}


def _check_value(path: str, value: Any, spec: Spec) -> None:
    kind, rule = spec
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ValueError(f"{path} must be {_KIND_NAMES.get(kind, 'a number')}")
    if isinstance(rule, dict):
        check_schema(path + ".", value, rule)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(f"{path}[{i}]", item, (str, rule))
    elif isinstance(rule, tuple) and isinstance(rule[0], str) and value not in rule:
        raise ValueError(f"{path} must be one of {', '.join(rule)}, not {value!r}")
    elif isinstance(rule, tuple) and not isinstance(rule[0], str):
        low, high = rule
        if not low <= value <= high:
            raise ValueError(f"{path} must be between {low} and {high}, not {value!r}")
    elif isinstance(rule, re.Pattern) and not rule.match(value):
        raise ValueError(f"{path} is malformed: {value!r}")


def check_schema(prefix: str, data: Mapping[str, Any], schema: Mapping[str, Spec]) -> None:
    for key, value in data.items():
        if key not in schema:
            raise ValueError(f"unknown key {prefix}{key} (known: {', '.join(schema)})")
        _check_value(prefix + key, value, schema[key])


def validate_template(stem: str, data: Any) -> dict[str, Any]:
    """``data`` if it is a valid template; ConfigError naming the problem otherwise."""
    if not isinstance(data, dict):
        raise ConfigError(f"template {stem!r} must be a JSON object")
    try:
        check_schema("", data, SCHEMA)
    except ValueError as exc:
        raise ConfigError(f"template {stem!r}: {exc}") from None
    return data


@functools.cache
def _directory() -> Any:
    return resources.files("shared") / "templates"


def template_names() -> list[str]:
    return sorted(p.name[:-5] for p in _directory().iterdir() if p.name.endswith(".json"))


# stem -> (file mtime, when it was last checked (monotonic), validated template): the
# gateway checks the template of every request, and reading, validating, even stat-ing the
# file each time cost more than the rest of the check. A file is stat-ed again after
# RECHECK_S, and read again if it changed.
RECHECK_S = 1.0
_cache: dict[str, tuple[int, float, dict[str, Any]]] = {}


def load_template(stem: str) -> dict[str, Any]:
    """A validated copy of the template ``stem``; ValidationError if there is none."""
    return copy.deepcopy(_validated(stem))


def require_template(stem: str) -> None:
    """ValidationError unless ``stem`` names a valid template (what the gateway checks)."""
    _validated(stem)


def _validated(stem: str) -> dict[str, Any]:
    cached = _cache.get(stem)
    now = time.monotonic()
    if cached is not None and now - cached[1] < RECHECK_S:
        return cached[2]
    path = _directory() / f"{stem}.json"
    try:
        mtime = os.stat(path).st_mtime_ns if STEM.match(stem) else None
    except OSError:
        mtime = None
    if mtime is None:
        _cache.pop(stem, None)
        raise ValidationError(
            f"unknown template {stem!r}; available: {', '.join(template_names())}"
        )
    if cached is None or cached[0] != mtime:
        try:
            data = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"template {stem!r} is not valid JSON: {exc}") from exc
        cached = (mtime, now, validate_template(stem, data))
    _cache[stem] = (mtime, now, cached[2])
    return cached[2]
