import pytest

from nodes.identity import derive_identity
from shared.apikeys import parse_static_keys
from shared.config import Settings, load_settings
from shared.errors import ConfigError


def test_identity_comes_from_the_queue_name():
    ident = derive_identity(["node.de.01"], Settings())
    assert (ident.uid, ident.country, ident.queue) == ("node.de.01", "DE", "node.de.01")


def test_identity_can_be_overridden():
    ident = derive_identity(["node.de.01"], Settings(node_uid="berlin-1", node_country="fr"))
    assert (ident.uid, ident.country) == ("berlin-1", "FR")


@pytest.mark.parametrize("queues", [[], ["celery"], ["node.de.01", "node.us.01"]])
def test_a_node_needs_exactly_one_node_queue(queues):
    with pytest.raises(ConfigError, match="exactly one node queue"):
        derive_identity(queues, Settings())


def test_queue_without_country_needs_an_override():
    with pytest.raises(ConfigError, match="BROWSING_NODE_COUNTRY"):
        derive_identity(["node.berlin"], Settings())


def test_static_keys_keep_only_digests():
    pairs = parse_static_keys("alice:KEY1, bob:KEY2")
    assert [u for u, _ in pairs] == ["alice", "bob"]
    assert all(len(d) == 32 and b"KEY" not in d for _, d in pairs)


@pytest.mark.parametrize("spec", ["alice", "alice:", ":KEY", "bad user:KEY"])
def test_malformed_static_keys_are_rejected(spec):
    with pytest.raises(ConfigError):
        parse_static_keys(spec)


def test_settings_read_prefixed_environment_with_types():
    s = load_settings({"BROWSING_SYNC_TIMEOUT_S": "2.5", "BROWSING_PORT": "9000", "OTHER": "x"})
    assert s.sync_timeout_s == 2.5 and s.port == 9000


def test_bad_setting_names_the_variable():
    with pytest.raises(ConfigError, match="BROWSING_PORT"):
        load_settings({"BROWSING_PORT": "eighty"})


@pytest.mark.parametrize(
    "name", ["BROWSING_NODE_MAX_TASKS_PER_CHILD", "BROWSING_REDIS_MAX_CONNECTIONS"]
)
def test_counts_below_one_are_refused_with_the_variable_named(name):
    # Celery's pool refuses max_tasks_per_child=0 with a traceback; say so up front.
    with pytest.raises(ConfigError, match=f"{name} must be at least 1, got 0"):
        load_settings({name: "0"})
    assert load_settings({name: "1"})


def test_a_node_gives_a_new_worker_process_time_to_start_chromium():
    # Celery's default of 4 s kills replacements on a busy host, again and again. In a
    # subprocess: the node app reads its settings from the environment once, at import.
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json; from nodes.celery import app; c = app.conf; "
        "print(json.dumps([c.worker_proc_alive_timeout, c.worker_max_tasks_per_child]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BROWSING_", "PROMETHEUS"))}
    env["BROWSING_NODE_CHILD_START_TIMEOUT_S"] = "90"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [90.0, 200]
    assert load_settings({}).node_child_start_timeout_s == 120
