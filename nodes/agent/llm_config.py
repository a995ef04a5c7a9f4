"""Where the LLM planner's settings come from: the template first, then the environment.

A template's ``llm`` object may set every field below; whatever it leaves out
is read from ``BROWSING_LLM_*`` variables (see ``ENV``). The API key is best
kept out of template files: a template can name the variable that holds it
(``api_key_env``), and the key never appears in a repr or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.errors import ConfigError

TOOL_MODES = ("auto", "tools", "json")

# Setting -> environment variable.
ENV: dict[str, str] = {
    "base_url": "BROWSING_LLM_BASE_URL",
    "model": "BROWSING_LLM_MODEL",
    "api_key": "BROWSING_LLM_API_KEY",
    "temperature": "BROWSING_LLM_TEMPERATURE",
    "top_p": "BROWSING_LLM_TOP_P",
    "max_tokens": "BROWSING_LLM_MAX_TOKENS",
    "timeout_s": "BROWSING_LLM_TIMEOUT_S",
    "max_retries": "BROWSING_LLM_MAX_RETRIES",
    "tool_mode": "BROWSING_LLM_TOOL_MODE",
}


@dataclass(frozen=True, kw_only=True)
class LLMSettings:
    base_url: str = ""  # an OpenAI-compatible API root, e.g. http://localhost:11434/v1
    model: str = ""
    api_key: str = field(default="", repr=False)
    temperature: float | None = None  # None: the server's default
    top_p: float | None = None
    max_tokens: int | None = 1024
    timeout_s: float = 60.0  # per request, cut to the task's deadline
    max_retries: int = 3  # replies that cannot be used before the planner gives up
    tool_mode: str = "auto"  # tools, with a JSON fallback; or only one of them

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
    template_llm: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> LLMSettings:
    """The LLM settings for a template's ``llm`` object, completed from ``env``."""
    env = os.environ if env is None else env
    given = dict(template_llm or {})
    key_env = given.pop("api_key_env", None)
    values: dict[str, Any] = {}
    for name, variable in ENV.items():
        if given.get(name) is not None:
            values[name] = _coerce(name, given[name], "template llm")
        elif name == "api_key" and key_env:
            values[name] = env.get(str(key_env), "")
        elif env.get(variable, "") != "":
            values[name] = _coerce(name, env[variable], variable)
    return LLMSettings(**values)
