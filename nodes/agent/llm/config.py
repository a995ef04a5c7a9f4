"""Where the LLM planner's settings come from: the template first, then Settings.

A template's ``llm`` object may set every field below; whatever it leaves out comes
from the service's Settings, that is from ``BROWSING_LLM_*`` variables (``llm_`` plus
the field's name; defaults in shared/defaults.py). The API key is best kept out of
template files: a template can name the variable that holds it (``api_key_env``), and
the key never appears in a repr or an error message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared import defaults
from shared.config import LLM_TOOL_MODES, Settings, environ, load_settings
from shared.errors import ConfigError

TOOL_MODES = LLM_TOOL_MODES

# Setting -> its field in Settings (and so its variable, BROWSING_LLM_<NAME>).
FIELDS: dict[str, str] = {
    name: f"llm_{name}"
    for name in (
        "base_url",
        "model",
        "api_key",
        "temperature",
        "top_p",
        "max_tokens",
        "timeout_s",
        "max_retries",
        "tool_mode",
    )
}


@dataclass(frozen=True, kw_only=True)
class LLMSettings:
    base_url: str = defaults.llm_base_url
    model: str = defaults.llm_model
    api_key: str = field(default=defaults.llm_api_key, repr=False)
    temperature: float | None = defaults.llm_temperature
    top_p: float | None = defaults.llm_top_p
    max_tokens: int | None = defaults.llm_max_tokens
    timeout_s: float = defaults.llm_timeout_s
    max_retries: int = defaults.llm_max_retries
    tool_mode: str = defaults.llm_tool_mode

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    def sampling(self) -> dict[str, Any]:
        """The request fields for the sampling settings that are set."""
        values = {"temperature": self.temperature, "top_p": self.top_p}
        values["max_tokens"] = self.max_tokens
        return {k: v for k, v in values.items() if v is not None}


_TYPES: dict[str, type] = {
    "temperature": float,
    "top_p": float,
    "max_tokens": int,
    "timeout_s": float,
    "max_retries": int,
}


def _coerce(name: str, raw: Any, source: str) -> Any:
    kind = _TYPES.get(name, str)
    try:
        value = kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name} must be a {kind.__name__}, not {raw!r}") from exc
    if name == "tool_mode" and value not in TOOL_MODES:
        raise ConfigError(f"{source}: tool_mode must be one of {', '.join(TOOL_MODES)}")
    return value


def llm_settings(
    template_llm: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    settings: Settings | None = None,
) -> LLMSettings:
    """The LLM settings for a template's ``llm`` object, completed from ``settings``
    (default: read from ``env``, itself by default the process environment)."""
    if settings is None:
        settings = load_settings(env)
    given = dict(template_llm or {})
    key_env = given.pop("api_key_env", None)
    values: dict[str, Any] = {}
    for name, setting in FIELDS.items():
        if given.get(name) is not None:
            values[name] = _coerce(name, given[name], "template llm")
        elif name == "api_key" and key_env:
            values[name] = environ(str(key_env), env)
        else:
            values[name] = getattr(settings, setting)
    return LLMSettings(**values)
