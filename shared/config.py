"""Settings: read once from defaults, then ``BROWSING_*`` environment variables.

The one module that reads the process environment for the service's configuration.
Exceptions, each for a reason: ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's own
variable, read by the library in every forked process; shared/metrics.py) and a
template's ``llm.api_key_env`` (a variable the operator names, read with ``environ``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
import urllib.parse
from collections.abc import Mapping
from typing import Any

from shared import defaults
from shared.errors import ConfigError

ENV_PREFIX = "BROWSING_"


def _secret(default: str) -> Any:
    """A setting that may hold a credential: never shown in a ``repr``."""
    return dataclasses.field(default=default, repr=False)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Settings:
    redis_url: str = _secret(defaults.redis_url)  # may hold the password
    redis_sentinels: str = defaults.redis_sentinels
    redis_sentinel_master: str = defaults.redis_sentinel_master
    redis_sentinel_password: str = _secret(defaults.redis_sentinel_password)
    redis_max_connections: int = defaults.redis_max_connections
    s3_endpoint_url: str = defaults.s3_endpoint_url
    s3_bucket: str = defaults.s3_bucket
    s3_region: str = defaults.s3_region
    s3_access_key_id: str = defaults.s3_access_key_id
    s3_secret_access_key: str = _secret(defaults.s3_secret_access_key)
    s3_prefix: str = defaults.s3_prefix
    s3_connect_timeout_s: float = defaults.s3_connect_timeout_s
    s3_read_timeout_s: float = defaults.s3_read_timeout_s
    s3_max_attempts: int = defaults.s3_max_attempts
    readiness_timeout_s: float = defaults.readiness_timeout_s
    screenshot_retention_days: int = defaults.screenshot_retention_days
    retention_sweep_interval_s: float = defaults.retention_sweep_interval_s
    max_download_bytes: int = defaults.max_download_bytes
    data_dir: str = defaults.data_dir
    bind: str = defaults.bind
    port: int = defaults.port
    gateway_workers: int = defaults.gateway_workers
    gateway_connections: int = defaults.gateway_connections
    log_format: str = defaults.log_format
    api_keys: str = _secret(defaults.api_keys)
    admin_users: str = defaults.admin_users
    cors_origins: str = defaults.cors_origins
    user_max_active: int = defaults.user_max_active
    user_max_queued: int = defaults.user_max_queued
    user_rate: float = defaults.user_rate
    user_burst: int = defaults.user_burst
    user_limits: str = defaults.user_limits
    node_prefetch: int = defaults.node_prefetch
    sync_timeout_s: float = defaults.sync_timeout_s
    max_request_bytes: int = defaults.max_request_bytes
    max_upload_bytes: int = defaults.max_upload_bytes
    task_timeout_default_ms: int = defaults.task_timeout_default_ms
    task_timeout_max_ms: int = defaults.task_timeout_max_ms
    task_record_ttl_s: int = defaults.task_record_ttl_s
    reaper_grace_s: float = defaults.reaper_grace_s
    maintenance_interval_s: float = defaults.maintenance_interval_s
    stale_queued_after_s: float = defaults.stale_queued_after_s
    fanout_max: int = defaults.fanout_max
    node_heartbeat_interval_s: float = defaults.node_heartbeat_interval_s
    node_dead_after_s: float = defaults.node_dead_after_s
    redispatch_retries: int = defaults.redispatch_retries
    session_affinity_ttl_s: int = defaults.session_affinity_ttl_s
    state_key: str = _secret(defaults.state_key)
    session_state_ttl_s: int = defaults.session_state_ttl_s
    session_state_prefix: str = defaults.session_state_prefix
    action_timeout_ms: int = defaults.action_timeout_ms
    node_max_tasks_per_child: int = defaults.node_max_tasks_per_child
    node_child_start_timeout_s: float = defaults.node_child_start_timeout_s
    chromium_path: str = defaults.chromium_path
    node_uid: str = defaults.node_uid
    node_country: str = defaults.node_country
    node_proxy: str = _secret(defaults.node_proxy)
    node_proxy_bypass: str = defaults.node_proxy_bypass
    metrics_port: int = defaults.metrics_port
    metrics_bind: str = defaults.metrics_bind
    egress_policy: str = defaults.egress_policy
    egress_allow: str = defaults.egress_allow
    egress_deny: str = defaults.egress_deny
    llm_base_url: str = defaults.llm_base_url
    llm_model: str = defaults.llm_model
    llm_api_key: str = _secret(defaults.llm_api_key)
    llm_temperature: float | None = defaults.llm_temperature
    llm_top_p: float | None = defaults.llm_top_p
    llm_max_tokens: int = defaults.llm_max_tokens
    llm_timeout_s: float = defaults.llm_timeout_s
    llm_max_retries: int = defaults.llm_max_retries
    llm_tool_mode: str = defaults.llm_tool_mode
    webhook_timeout_s: float = defaults.webhook_timeout_s
    webhook_retry_base_s: float = defaults.webhook_retry_base_s
    webhook_retry_max_s: float = defaults.webhook_retry_max_s
    webhook_retry_for_s: float = defaults.webhook_retry_for_s
    webhook_concurrency: int = defaults.webhook_concurrency
    webhook_poll_interval_s: float = defaults.webhook_poll_interval_s
    events_keepalive_s: float = defaults.events_keepalive_s
    idempotency_ttl_s: int = defaults.idempotency_ttl_s
    task_list_max: int = defaults.task_list_max

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def sentinels(self) -> list[tuple[str, int]]:
        """``redis_sentinels`` as (host, port) pairs; empty when Sentinel is not used."""
        pairs = []
        for entry in self.redis_sentinels.split(","):
            host, sep, port = entry.strip().rpartition(":")
            if not entry.strip():
                continue
            if not sep or not host or not port.isdigit():
                raise ConfigError(
                    f"{ENV_PREFIX}REDIS_SENTINELS: {entry.strip()!r} is not host:port "
                    '(e.g. "10.0.0.1:26379,10.0.0.2:26379")'
                )
            pairs.append((host.strip("[]"), int(port)))
        return pairs


def env_name(field: str) -> str:
    """The environment variable of a setting: ``sync_timeout_s`` -> BROWSING_SYNC_TIMEOUT_S."""
    return ENV_PREFIX + field.upper()


EGRESS_POLICIES = ("enforce", "off")
LOG_FORMATS = ("json", "text")
LLM_TOOL_MODES = ("auto", "tools", "json")
# Settings that take one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {
    "egress_policy": EGRESS_POLICIES,
    "log_format": LOG_FORMATS,
    "llm_tool_mode": LLM_TOOL_MODES,
}
# Settings that mean nothing (or stop a process from starting) below 1.
AT_LEAST_ONE = (
    "redis_max_connections",
    "node_max_tasks_per_child",
    "fanout_max",
    "s3_max_attempts",
    "gateway_workers",
    "gateway_connections",
    "llm_max_tokens",
    "webhook_concurrency",
    "idempotency_ttl_s",
    "task_list_max",
    "max_upload_bytes",
    "session_state_ttl_s",
)
# Durations that must be longer than nothing (0 would spin a loop or retry at once).
ABOVE_ZERO = (
    "webhook_timeout_s",
    "webhook_retry_base_s",
    "webhook_retry_max_s",
    "webhook_retry_for_s",
    "webhook_poll_interval_s",
    "events_keepalive_s",
)
# Settings where 0 means "none" and a negative number nothing.
AT_LEAST_ZERO = ("user_max_active", "user_max_queued", "user_rate", "user_burst", "node_prefetch")
SECRETS = tuple(f.name for f in dataclasses.fields(Settings) if not f.repr)


@functools.cache
def field_types() -> dict[str, Any]:
    """Each setting's declared type (``float | None`` for the optional numbers)."""
    return typing.get_type_hints(Settings)


def _kind(annotation: Any) -> tuple[type, bool]:
    """The type a variable's text converts to, and whether the setting may be None."""
    if isinstance(annotation, types.UnionType):
        (kind,) = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        return kind, True
    return annotation, False


def parse_value(name: str, raw: str) -> Any:
    """The value of setting ``name`` written as ``raw`` (an environment variable's text).
    An empty number is its default (None for the optional ones)."""
    kind, optional = _kind(field_types()[name])
    if kind is not str and not raw.strip():
        return None if optional else getattr(defaults, name)
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(f"{env_name(name)}={raw!r} is not a valid {kind.__name__}") from exc


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``BROWSING_*`` variables from ``env`` (default: the process
    environment), then keyword overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        raw = env.get(env_name(field.name))
        if raw is not None:
            values[field.name] = parse_value(field.name, raw)
    values.update(overrides)
    for name in AT_LEAST_ONE:
        if name in values and values[name] < 1:
            raise ConfigError(f"{env_name(name)} must be at least 1, got {values[name]}")
    for name in ABOVE_ZERO:
        if name in values and not values[name] > 0:
            raise ConfigError(f"{env_name(name)} must be more than 0, got {values[name]}")
    for name in AT_LEAST_ZERO:
        if name in values and values[name] < 0:
            raise ConfigError(f"{env_name(name)} must be 0 or more, got {values[name]}")
    for name, choices in CHOICES.items():
        if values.get(name, getattr(defaults, name)) not in choices:
            raise ConfigError(
                f"{env_name(name)} must be one of {', '.join(choices)}, got {values[name]!r}"
            )
    settings = Settings(**values)
    settings.sentinels()  # a malformed list fails at start, not at the first connection
    from shared.users import parse_user_limits

    parse_user_limits(settings.user_limits)  # likewise
    from shared.apikeys import parse_admin_users

    parse_admin_users(settings.admin_users)
    parse_cors_origins(settings.cors_origins)  # likewise
    from shared.sessionstate import parse_state_key

    parse_state_key(settings.state_key)  # likewise
    _check_prefixes(settings.s3_prefix, settings.session_state_prefix)
    return settings


def _check_prefixes(files: str, states: str) -> None:
    """Screenshots and files expire after days, sessions' states after their own TTL: a
    prefix inside the other would have one's sweep and lifecycle rule delete the other's
    objects early."""
    if not files or not states:
        raise ConfigError(
            "BROWSING_S3_PREFIX and BROWSING_SESSION_STATE_PREFIX must not be empty: each "
            "kind of object expires by its own rule, under its own prefix"
        )
    if files.startswith(states) or states.startswith(files):
        raise ConfigError(
            f"BROWSING_S3_PREFIX ({files!r}) and BROWSING_SESSION_STATE_PREFIX ({states!r}) "
            "must not lie one inside the other: each expires by its own rule"
        )


def environ(name: str, env: Mapping[str, str] | None = None) -> str:
    """One variable the operator names (not one of ours), e.g. a template's
    ``llm.api_key_env``; empty if unset."""
    return (os.environ if env is None else env).get(name, "")


ANY_ORIGIN = "*"


def parse_cors_origins(spec: str) -> frozenset[str]:
    """'https://app.example.com,http://localhost:3000' (or '*') -> the allowed origins.
    An origin is a scheme, a host and maybe a port: nothing after them."""
    origins = frozenset(filter(None, (part.strip() for part in spec.split(","))))
    for origin in origins - {ANY_ORIGIN}:
        parts = urllib.parse.urlsplit(origin)
        try:
            port_ok = parts.port is not None or not parts.netloc.endswith(":")
        except ValueError:  # a port that is not a number
            port_ok = False
        if (
            not port_ok
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
            or origin != origin.lower()
        ):
            raise ConfigError(
                "BROWSING_CORS_ORIGINS must list origins like https://app.example.com "
                f"(scheme, host, optional port; lower case), or *, got {origin[:80]!r}"
            )
    return origins
