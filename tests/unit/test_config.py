"""Settings: one entry point for the configuration, and README's table of it kept true."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from nodes.agent.llm.config import llm_settings
from shared import defaults, logs
from shared.config import SECRETS, Settings, env_name, load_settings, parse_value
from shared.errors import ConfigError
from shared.services import _master_params, broker_url

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
ROW = re.compile(r"^\| `(BROWSING_[A-Z0-9_]+)` \| ([^|]*) \|")


def readme_table(text: str) -> dict[str, str]:
    """README's configuration table: variable -> its default cell."""
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match:
            assert match.group(1) not in rows, f"{match.group(1)} is in the table twice"
            rows[match.group(1)] = match.group(2).strip()
    return rows


def table_problems(text: str) -> list[str]:
    """Everything README's configuration table gets wrong about Settings."""
    rows = readme_table(text)
    fields = {env_name(f.name): f.name for f in dataclasses.fields(Settings)}
    problems = [f"{var} is read by Settings but not in the table" for var in fields.keys() - rows]
    problems += [f"{var} is in the table but is no setting" for var in rows.keys() - fields]
    for var, cell in rows.items():
        name = fields.get(var)
        if name is None:
            continue
        default = getattr(defaults, name)
        if default in ("", None):
            if not cell.startswith("empty"):
                problems.append(f"{var}: the default is empty, the table says {cell!r}")
            continue
        written = re.match(r"`([^`]*)`", cell)
        if written is None or parse_value(name, written.group(1)) != default:
            problems.append(f"{var}: the default is {default!r}, the table says {cell!r}")
    return problems


def test_readme_lists_every_setting_with_its_default() -> None:
    assert table_problems(README.read_text()) == []


def test_the_table_check_sees_a_missing_row_a_stray_row_and_a_wrong_default() -> None:
    text = README.read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `BROWSING_FANOUT_MAX`"))
    assert table_problems(text.replace(row + "\n", "")) == [
        "BROWSING_FANOUT_MAX is read by Settings but not in the table"
    ]
    stray = "| `BROWSING_NO_SUCH_THING` | `1` | x |\n"
    assert table_problems(text.replace(row + "\n", row + "\n" + stray)) == [
        "BROWSING_NO_SUCH_THING is in the table but is no setting"
    ]
    assert table_problems(text.replace(row, row.replace("`10`", "`12`"))) == [
        "BROWSING_FANOUT_MAX: the default is 10, the table says '`12`'"
    ]


# One entry point.

# Modules that may read the process environment, and why.
ENVIRONMENT_READERS = {
    "shared/config.py": "the entry point",
    "shared/metrics.py": "PROMETHEUS_MULTIPROC_DIR, prometheus-client's own variable",
    "nodes/lifecycle.py": "PROMETHEUS_MULTIPROC_DIR, to remove the node's private directory",
    "nodes/browser.py": "no setting: Chromium's environment, a copy without the secrets",
}


def test_only_the_config_module_reads_the_environment() -> None:
    readers = set()
    for package in ("gateway", "scheduler", "nodes", "shared"):
        for path in (ROOT / package).rglob("*.py"):
            if re.search(r"os\.environ|getenv", path.read_text()):
                readers.add(str(path.relative_to(ROOT)))
    assert readers - ENVIRONMENT_READERS.keys() == set()


def test_gunicorn_reads_its_settings_through_settings(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "BROWSING_BIND": "0.0.0.0",
        "BROWSING_PORT": "9123",
        "BROWSING_GATEWAY_WORKERS": "3",
        "BROWSING_GATEWAY_CONNECTIONS": "50",
    }
    script = (
        "import json, runpy; c = runpy.run_path('gateway/gunicorn_conf.py');"
        "print(json.dumps([c['bind'], c['workers'], c['worker_connections']]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["0.0.0.0:9123", 3, 50]
    bad = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**env, "BROWSING_GATEWAY_WORKERS": "0"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "BROWSING_GATEWAY_WORKERS must be at least 1" in bad.stderr


def test_log_format_comes_from_settings() -> None:
    assert load_settings({}).log_format == "json"
    assert isinstance(logs.handler().formatter, logs.JsonFormatter)
    text = logs.handler(load_settings({"BROWSING_LOG_FORMAT": "text"}).log_format)
    assert type(text.formatter) is logging.Formatter
    with pytest.raises(ConfigError, match="BROWSING_LOG_FORMAT must be one of json, text"):
        load_settings({"BROWSING_LOG_FORMAT": "xml"})


def test_llm_settings_come_from_settings_and_the_template_wins() -> None:
    settings = load_settings(
        {
            "BROWSING_LLM_BASE_URL": "http://env:8000/v1",
            "BROWSING_LLM_MODEL": "env-model",
            "BROWSING_LLM_TOP_P": "0.9",
            "BROWSING_LLM_TIMEOUT_S": "",  # empty: the default
        }
    )
    assert settings.llm_top_p == 0.9 and settings.llm_timeout_s == defaults.llm_timeout_s
    llm = llm_settings({"model": "template-model", "top_p": 0.5}, settings=settings)
    assert (llm.base_url, llm.model, llm.top_p) == ("http://env:8000/v1", "template-model", 0.5)
    assert llm.temperature is None and llm.max_tokens == 1024 and llm.configured


# Secrets.

SECRET_ENV = {
    "BROWSING_REDIS_URL": "redis://:redis-secret-1@redis:6379/0",
    "BROWSING_REDIS_SENTINEL_PASSWORD": "sentinel-secret-2",
    "BROWSING_S3_SECRET_ACCESS_KEY": "s3-secret-3",
    "BROWSING_API_KEYS": "alice:api-secret-4",
    "BROWSING_NODE_PROXY": "http://user:proxy-secret-5@proxy:3128",
    "BROWSING_LLM_API_KEY": "llm-secret-6",
    "BROWSING_STATE_KEY": "5ec7e7" + "ab" * 29,
}


def test_no_secret_appears_in_a_repr() -> None:
    settings = load_settings(SECRET_ENV)
    assert {name.removeprefix("BROWSING_").lower() for name in SECRET_ENV} == set(SECRETS)
    shown = repr(settings) + repr(llm_settings(None, settings=settings))
    for value in SECRET_ENV.values():
        assert value.split(":")[-1].split("@")[0] not in shown


# Redis Sentinel.


def test_sentinels_parse_and_bad_entries_are_config_errors() -> None:
    settings = load_settings({"BROWSING_REDIS_SENTINELS": " 10.0.0.1:26379, [::1]:26380 ,"})
    assert settings.sentinels() == [("10.0.0.1", 26379), ("::1", 26380)]
    assert load_settings({}).sentinels() == []
    for bad in ("10.0.0.1", "host:port", ":26379"):
        with pytest.raises(ConfigError, match="BROWSING_REDIS_SENTINELS: .* is not host:port"):
            load_settings({"BROWSING_REDIS_SENTINELS": bad})


def test_the_broker_url_lists_the_sentinels_with_the_master_s_credentials() -> None:
    plain = Settings(redis_url="redis://:pw@redis:6379/2")
    assert broker_url(plain) == "redis://:pw@redis:6379/2"
    ha = plain.replace(redis_sentinels="s1:26379,[::1]:26380")
    assert broker_url(ha) == "sentinel://:pw@s1:26379/2;sentinel://:pw@[::1]:26380/2"


def test_the_master_s_credentials_database_and_tls_come_from_the_url() -> None:
    params = _master_params(Settings(redis_url="rediss://user:pw@ignored:1/3"))
    assert params == {"username": "user", "password": "pw", "db": 3, "ssl": True}
    with pytest.raises(ConfigError, match="unix socket cannot be used with Sentinel"):
        _master_params(Settings(redis_url="unix:///run/redis.sock"))


def test_a_sentinel_client_takes_the_url_s_own_connection_options() -> None:
    # The same URL works without Sentinel: its ?socket_timeout= must not collide with ours.
    from shared.services import redis_client

    url = "redis://:pw@ignored:1/0?socket_timeout=3"
    client = redis_client(Settings(redis_url=url, redis_sentinels="127.0.0.1:1"))
    assert client.connection_pool.connection_kwargs["socket_timeout"] == 3
    assert (
        redis_client(Settings(redis_url=url)).connection_pool.connection_kwargs["socket_timeout"]
        == 3
    )


@pytest.mark.parametrize(
    ("files", "states"),
    [("", "browser-state/"), ("screenshots/", ""), ("data/", "data/states/"), ("a/", "a/")],
)
def test_storage_prefixes_must_be_set_and_apart(files, states):
    """Each kind of object expires by its own rule under its own prefix: one inside the
    other would let the screenshots' sweep delete sessions' states, or the reverse."""
    with pytest.raises(ConfigError, match="BROWSING_S3_PREFIX .*BROWSING_SESSION_STATE_PREFIX"):
        load_settings({"BROWSING_S3_PREFIX": files, "BROWSING_SESSION_STATE_PREFIX": states})
    assert load_settings({"BROWSING_S3_PREFIX": "files/", "BROWSING_SESSION_STATE_PREFIX": "s/"})
