"""Settings: read once from defaults, then ``BROWSING_*`` environment variables."""

from __future__ import annotations

import dataclasses
import os
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
    redis_url: str = _secret(defaults.redis_url)
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
    data_dir: str = defaults.data_dir
    port: int = defaults.port
    api_keys: str = _secret(defaults.api_keys)
    sync_timeout_s: float = defaults.sync_timeout_s
    max_request_bytes: int = defaults.max_request_bytes
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

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


EGRESS_POLICIES = ("enforce", "off")
# Settings that mean nothing (or stop a process from starting) below 1.
AT_LEAST_ONE = (
    "redis_max_connections",
    "node_max_tasks_per_child",
    "fanout_max",
    "s3_max_attempts",
)


def _coerce(name: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        return kind(raw)
    except ValueError as exc:
        raise ConfigError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from exc


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then ``BROWSING_*`` variables from ``env`` (default: the process
    environment), then keyword overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        raw = env.get(ENV_PREFIX + field.name.upper())
        if raw is not None:
            values[field.name] = _coerce(field.name, raw, type(field.default))
    values.update(overrides)
    for name in AT_LEAST_ONE:
        if name in values and values[name] < 1:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be at least 1, got {values[name]}")
    if values.get("egress_policy", defaults.egress_policy) not in EGRESS_POLICIES:
        raise ConfigError(
            f"{ENV_PREFIX}EGRESS_POLICY must be one of {', '.join(EGRESS_POLICIES)}, "
            f"got {values['egress_policy']!r}"
        )
    return Settings(**values)
