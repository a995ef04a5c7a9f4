"""The operator files under deploy/: they parse, query only metrics the code defines, and
hold what deploy/README.md promises (compose services, pinned images, dashboard panels,
alert rules, the kustomize tree, one queue per node pod).

Tools that may be missing (``docker compose``, ``kubectl``, ``promtool``) only add checks
when present; their tests skip with the reason otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nodes.identity import derive_identity
from shared.config import Settings
from shared.egress import denied_reason
from shared.records import NewTask
from shared.request import NodeFilter, TaskRequest
from shared.storage import LIFECYCLE_RULE_ID

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "browsing.json"
GRAFANA_DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_DASHBOARDS = DEPLOY / "grafana" / "provisioning" / "dashboards" / "browsing.yml"
PROMETHEUS = DEPLOY / "prometheus" / "prometheus.yml"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERTS_TEST = DEPLOY / "prometheus" / "alerts_test.yml"
K8S = DEPLOY / "k8s"
K8S_BASE = K8S / "base"
NETWORK_POLICY = K8S_BASE / "network-policy.yaml"
CODE_DIRS = ("gateway", "scheduler", "nodes", "shared")

YAML_FILES = sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yml", ".yaml"))
JSON_FILES = sorted(DEPLOY.rglob("*.json"))


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def load_yaml_docs(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


# --- (a) every file parses ---------------------------------------------------------------


def test_deploy_holds_the_files_the_readme_describes() -> None:
    expected = [
        COMPOSE,
        DOCKERFILE,
        DASHBOARD,
        GRAFANA_DATASOURCES,
        GRAFANA_DASHBOARDS,
        PROMETHEUS,
        ALERTS,
        K8S_BASE / "kustomization.yaml",
        K8S / "overlays" / "production" / "kustomization.yaml",
        NETWORK_POLICY,
    ]
    assert [rel(p) for p in expected if not p.is_file()] == []


@pytest.mark.parametrize("path", YAML_FILES, ids=rel)
def test_yaml_parses(path: Path) -> None:
    assert load_yaml_docs(path), f"{rel(path)} holds no YAML document"


@pytest.mark.parametrize("path", JSON_FILES, ids=rel)
def test_json_parses(path: Path) -> None:
    assert json.loads(path.read_text())


# --- (b) docker compose config ------------------------------------------------------------


def docker_compose_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        result = subprocess.run(
            [docker, "compose", "version"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def compose_command() -> list[str] | None:
    """`docker compose` (v2), else the standalone `docker-compose` (v1), else None."""
    if docker_compose_available():
        return ["docker", "compose"]
    standalone = shutil.which("docker-compose")
    return [standalone] if standalone else None


def test_docker_compose_config_is_valid() -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed here")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "-q"],
        env={**os.environ, "BROWSING_API_KEYS": "ci:ci-key-0123456789"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


# --- (c) every queried metric exists in the code ------------------------------------------

# A metric name as a string literal in the code: Counter("browsing_..."), or the name of a
# metric family a custom collector yields.
METRIC_LITERAL = re.compile(r"""["'](browsing_[a-z0-9_]+)["']""")
PROMQL_NAME = re.compile(r"\bbrowsing_[A-Za-z0-9_:]+")
PROMQL_STRING = re.compile(r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`""")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def defined_metric_names() -> set[str]:
    names: set[str] = set()
    for package in CODE_DIRS:
        for path in (ROOT / package).rglob("*.py"):
            names.update(METRIC_LITERAL.findall(path.read_text()))
    return names


def is_exposed(name: str, defined: set[str]) -> bool:
    """Whether a scrape can hold series ``name`` when the code defines ``defined``: the name
    itself, or a defined name plus the suffix prometheus_client adds (``_total`` to a
    counter, ``_bucket``/``_sum``/``_count`` to a histogram, ``_created`` to either)."""
    if name in defined:
        return True
    if name.endswith(("_total", "_created")):
        base = name.rsplit("_", 1)[0]
        if base in defined or (name.endswith("_created") and base + "_total" in defined):
            return True
    for suffix in HISTOGRAM_SUFFIXES:
        base = name.removesuffix(suffix)
        if base != name and base in defined and not base.endswith("_total"):
            return True
    return False


def metric_names_in(expr: str) -> set[str]:
    """The browsing_* metric names a PromQL expression selects (label values skipped)."""
    return set(PROMQL_NAME.findall(PROMQL_STRING.sub('""', expr)))


def walk_panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from walk_panels(panel.get("panels", []))


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def dashboard_exprs() -> list[str]:
    return [
        target["expr"]
        for panel in walk_panels(dashboard()["panels"])
        for target in panel.get("targets", [])
        if "expr" in target
    ]


def alert_rules() -> list[dict]:
    return [rule for group in load_yaml(ALERTS)["groups"] for rule in group["rules"]]


def k8s_objects(directory: Path = K8S) -> list[dict]:
    objects = []
    for path in sorted(directory.rglob("*.yaml")):
        for doc in load_yaml_docs(path):
            if isinstance(doc, dict) and "kind" in doc:
                objects.append(doc)
    return objects


def keda_queries() -> list[str]:
    return [
        trigger["metadata"]["query"]
        for obj in k8s_objects(K8S_BASE)
        if obj["kind"] == "ScaledObject"
        for trigger in obj["spec"]["triggers"]
        if trigger["type"] == "prometheus"
    ]


QUERY_SOURCES = {
    "dashboard": dashboard_exprs,
    "alerts": lambda: [rule["expr"] for rule in alert_rules()],
    "keda": keda_queries,
}


def test_the_code_defines_the_documented_metrics() -> None:
    defined = defined_metric_names()
    for name in (
        "browsing_gateway_requests_total",
        "browsing_scheduler_queue_wait_seconds",
        "browsing_node_attempt_duration_seconds",
    ):
        assert name in defined


def test_matcher_accepts_exposition_suffixes_and_rejects_unknown_names() -> None:
    defined = {"browsing_x_requests_total", "browsing_x_wait_seconds", "browsing_x_depth"}
    assert is_exposed("browsing_x_requests_total", defined)
    assert is_exposed("browsing_x_wait_seconds_bucket", defined)
    assert is_exposed("browsing_x_wait_seconds_count", defined)
    assert is_exposed("browsing_x_depth", defined)
    assert not is_exposed("browsing_made_up_metric_total", defined)
    assert not is_exposed("browsing_x_requests", defined)  # a counter is scraped as _total
    assert not is_exposed("browsing_x_requests_total_bucket", defined)
    assert not is_exposed("browsing_x_depth_seconds", defined)
    # Against the real code too: a made-up name in a real query is caught.
    real = defined_metric_names()
    expr = 'sum(rate(browsing_made_up_metric_total{job="browsing_gateway"}[5m]))'
    assert [n for n in metric_names_in(expr) if not is_exposed(n, real)] == [
        "browsing_made_up_metric_total"
    ]


def test_metric_names_skip_label_values() -> None:
    expr = 'sum by (le) (rate(browsing_a_bucket{node=~"browsing_b.*"}[5m])) / browsing_c'
    assert metric_names_in(expr) == {"browsing_a_bucket", "browsing_c"}


@pytest.mark.parametrize("source", sorted(QUERY_SOURCES))
def test_every_queried_metric_exists_in_the_code(source: str) -> None:
    exprs = QUERY_SOURCES[source]()
    assert exprs, f"no PromQL found in the {source}"
    defined = defined_metric_names()
    queried = set().union(*(metric_names_in(e) for e in exprs))
    assert queried, f"the {source} queries no browsing_* metric"
    missing = sorted(n for n in queried if not is_exposed(n, defined))
    assert missing == [], (
        f"the {source} queries metrics that {', '.join(CODE_DIRS)} do not define: {missing}"
    )


# --- (d) kustomize ------------------------------------------------------------------------

KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))


def kustomization_refs(path: Path) -> list[str]:
    """Files and directories a kustomization.yaml refers to."""
    k = load_yaml(path)
    refs = list(k.get("resources", [])) + list(k.get("components", []))
    refs += [p["path"] for p in k.get("patches", []) if "path" in p]
    refs += list(k.get("patchesStrategicMerge", []))
    return refs


def test_there_is_a_base_and_an_overlay() -> None:
    assert K8S_BASE / "kustomization.yaml" in KUSTOMIZATIONS
    assert any("overlays" in p.parts for p in KUSTOMIZATIONS)


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=rel)
def test_kustomization_refers_to_existing_files(path: Path) -> None:
    refs = kustomization_refs(path)
    assert refs, f"{rel(path)} lists no resources"
    for ref in refs:
        target = (path.parent / ref).resolve()
        if target.is_dir():
            assert (target / "kustomization.yaml").is_file(), f"{ref}: no kustomization.yaml"
        else:
            assert target.is_file(), f"{rel(path)} lists {ref}, which does not exist"


def test_base_lists_every_manifest_it_holds() -> None:
    listed = set(load_yaml(K8S_BASE / "kustomization.yaml")["resources"])
    present = {
        p.name
        for p in K8S_BASE.glob("*.yaml")
        if p.name != "kustomization.yaml" and not p.name.endswith(".example.yaml")
    }
    assert present - listed == set(), "manifests in base/ that kustomization.yaml leaves out"


def base_objects(kind: str) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in k8s_objects(K8S_BASE) if o["kind"] == kind}


def test_base_has_the_workloads() -> None:
    assert {"gateway", "scheduler"} <= set(base_objects("Deployment"))
    assert {"redis", "node-de", "node-us"} <= set(base_objects("StatefulSet"))
    assert {"gateway", "redis"} <= set(base_objects("Service"))
    assert "browsing-config" in base_objects("ConfigMap")
    redis_args = base_objects("StatefulSet")["redis"]["spec"]["template"]["spec"]["containers"]
    assert {"noeviction", "--appendonly"} <= set(redis_args[0]["args"])


def containers(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["containers"]


def test_browsing_containers_keep_tini_and_read_config_and_secret() -> None:
    workloads = [*base_objects("Deployment").values(), *base_objects("StatefulSet").values()]
    ours = [c for w in workloads for c in containers(w) if "browsing-service" in c["image"]]
    assert len(ours) == 4  # gateway, scheduler, node-de, node-us
    for c in ours:
        name = c["name"]
        # A Kubernetes `command` would replace the image's ENTRYPOINT, tini.
        assert "command" not in c, name
        refs = {(k, v["name"]) for e in c["envFrom"] for k, v in e.items()}
        if name == "node":
            # Only the secrets a node uses, one by one: never the API keys.
            assert refs == {("configMapRef", "browsing-config")}
            secrets = {
                e["name"]: e["valueFrom"]["secretKeyRef"]
                for e in c["env"]
                if "secretKeyRef" in e.get("valueFrom", {})
            }
            assert set(secrets) == {
                "BROWSING_S3_ACCESS_KEY_ID",
                "BROWSING_S3_SECRET_ACCESS_KEY",
                "BROWSING_STATE_KEY",
            }
            assert all(r["name"] == "browsing-secrets" and r["optional"] for r in secrets.values())
        else:
            assert refs == {("configMapRef", "browsing-config"), ("secretRef", "browsing-secrets")}
        # Found by an operator's review: no privilege escalation, no capabilities, and the
        # runtime's syscall filter, since Chromium runs without its own sandbox.
        assert c["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }, name
    for w in workloads:
        pod = w["spec"]["template"]["spec"]["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["seccompProfile"] == {"type": "RuntimeDefault"}


def _worker_argvs() -> dict[str, list[str]]:
    """Every deployed Celery worker's arguments: compose's commands, and the k8s args (a
    node's shell script split into words)."""
    found = {
        f"compose:{n}": s["command"]
        for n, s in compose_services().items()
        if isinstance(s.get("command"), list) and s["command"][:1] == ["celery"]
    }
    for name, obj in {**base_objects("Deployment"), **base_objects("StatefulSet")}.items():
        for c in containers(obj):
            words = " ".join(c.get("args", [])).split()
            if "celery" in words:
                found[f"k8s:{name}"] = words
    return found


def test_deployed_workers_run_without_celery_gossip_mingle_and_heartbeats() -> None:
    """As the local cluster runs them (browsing/cluster.py): liveness is ours, and
    Celery's events would grow with the fleet."""
    argvs = _worker_argvs()
    assert {"compose:scheduler", "compose:node-de-01", "k8s:scheduler", "k8s:node-de"} <= set(argvs)
    for name, argv in argvs.items():
        assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(argv), name


def test_redis_refuses_writes_at_a_maxmemory_rather_than_being_killed() -> None:
    k8s = containers(base_objects("StatefulSet")["redis"])[0]
    compose = compose_services()["redis"]["command"]
    for args in (k8s["args"], compose):
        assert args[args.index("--maxmemory-policy") + 1] == "noeviction"
        assert args[args.index("--maxmemory") + 1].endswith(("mb", "gb"))
    assert k8s["args"][k8s["args"].index("--maxmemory") + 1] == "1536mb"  # limit 2Gi
    assert k8s["resources"]["limits"]["memory"] == "2Gi"


def test_the_gateway_readiness_probe_waits_for_both_checks() -> None:
    (gateway,) = containers(base_objects("Deployment")["gateway"])
    probe = gateway["readinessProbe"]
    assert probe["httpGet"]["path"] == "/readyz"
    # Redis, then S3, each up to BROWSING_READINESS_TIMEOUT_S.
    assert probe["timeoutSeconds"] > 2 * Settings().readiness_timeout_s


def test_no_pod_gets_a_service_account_token() -> None:
    # None of our processes calls the Kubernetes API; a token mounted in a node pod is one
    # a page that escapes Chromium could use against the cluster.
    workloads = {**base_objects("Deployment"), **base_objects("StatefulSet")}
    assert {"gateway", "scheduler", "redis", "node-de", "node-us"} <= set(workloads)
    mounted = [
        name
        for name, w in workloads.items()
        if w["spec"]["template"]["spec"].get("automountServiceAccountToken") is not False
    ]
    assert mounted == []


def run_node_command(container: dict, hostname: str, tmp_path: Path) -> list[str]:
    """Run a node container's shell command with a stand-in `celery` that prints its args."""
    fake = tmp_path / "celery"
    fake.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
    env.update(PATH=f"{tmp_path}{os.pathsep}{os.environ['PATH']}", HOSTNAME=hostname)
    result = subprocess.run(
        container["args"], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("country", ["de", "us"])
def test_each_node_pod_consumes_its_own_queue(country: str, tmp_path: Path) -> None:
    (container,) = containers(base_objects("StatefulSet")[f"node-{country}"])
    script = " ".join(container["args"])
    # Kubernetes expands $(NAME) and $$ in args; the script must mean the same after that.
    assert "$$" not in script
    assert not re.search(r"\$\([A-Za-z_][A-Za-z0-9_]*\)", script)
    queues = []
    for ordinal in (0, 1, 11):
        argv = run_node_command(container, f"node-{country}-{ordinal}", tmp_path)
        assert argv[:3] == ["-A", "nodes", "worker"]
        queue = argv[argv.index("-Q") + 1]
        identity = derive_identity([queue], Settings())
        assert identity.country == country.upper()
        queues.append(queue)
    assert queues == [f"node.{country}.01", f"node.{country}.02", f"node.{country}.12"]


# The KEDA query: (sum(in-flight of the country's nodes) or vector(0)) + sum(waiting tasks
# the country's nodes could run). See the comments in deploy/k8s/base/keda.yaml.
KEDA_QUERY = re.compile(
    r"""\(sum\(browsing_scheduler_node_inflight\{node=~"(?P<nodes>[^"]+)"\}\) or vector\(0\)\)"""
    r"""\s*\+\s*sum\(browsing_scheduler_tasks_waiting_where\{where=~"(?P<where>[^"]+)"\}\)"""
)


def where_label(raw_filter: dict[str, str] | None) -> str:
    """The `where` label the scheduler gives a task submitted with this filter."""
    request = TaskRequest(task="t", timeout_ms=60_000, filter=NodeFilter.from_dict(raw_filter))
    return NewTask.of("web:" + "0" * 32, owner="alice", request=request).where


def test_keda_scales_each_country_on_its_own_demand() -> None:
    statefulsets = base_objects("StatefulSet")
    scaled = base_objects("ScaledObject")
    for country in ("de", "us"):
        other = "us" if country == "de" else "de"
        obj = scaled[f"node-{country}"]
        ref = obj["spec"]["scaleTargetRef"]
        assert (ref["kind"], ref["name"]) == ("StatefulSet", f"node-{country}")
        assert ref["name"] in statefulsets
        assert "replicas" not in statefulsets[ref["name"]]["spec"]  # KEDA owns it
        assert obj["spec"]["minReplicaCount"] >= 1
        (trigger,) = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        query = " ".join(meta["query"].split())
        match = KEDA_QUERY.fullmatch(query)
        assert match, f"node-{country}: unexpected query {query!r}"
        # In-flight attempts: this country's node queues, not the other's.
        nodes = match.group("nodes")
        assert re.fullmatch(nodes, f"node.{country}.07")
        assert not re.fullmatch(nodes, f"node.{other}.07")
        # Waiting tasks: those filtered to this country and those without a filter, not
        # those of the other country nor those pinned to one node.
        where = match.group("where")
        home = derive_identity([f"node.{country}.01"], Settings()).country.upper()
        assert where_label({"country_iso": country}) == home
        assert re.fullmatch(where, home)
        assert re.fullmatch(where, where_label(None))
        assert not re.fullmatch(where, where_label({"country_iso": other}))
        assert not re.fullmatch(where, where_label({"node_uid": f"node.{country}.01"}))
        # One pod's worth of demand per pod: the threshold is the pod's slots.
        (container,) = containers(statefulsets[ref["name"]])
        env = {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}
        assert meta["threshold"] == env["NODE_CONCURRENCY"] == "2"
        # No scheduler reporting leaves the waiting sum empty: KEDA errs and the HPA
        # keeps its replicas, rather than reading 0 and scaling down.
        assert meta["ignoreNullValues"] == "false"


def test_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: cannot run `kubectl kustomize`")
    for path in KUSTOMIZATIONS:
        result = subprocess.run(
            [kubectl, "kustomize", str(path.parent)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, f"{rel(path)}: {result.stderr}"
        built = [d for d in yaml.safe_load_all(result.stdout) if d]
        kinds = {(d["kind"], d["metadata"]["name"]) for d in built}
        assert ("StatefulSet", "node-de") in kinds and ("ScaledObject", "node-us") in kinds
        assert ("NetworkPolicy", "node-egress") in kinds
        assert {d["metadata"].get("namespace") for d in built if d["kind"] != "Namespace"} == {
            "browsing"
        }


# --- metrics bind and the nodes' NetworkPolicy ---------------------------------------------

# The metrics servers listen on 127.0.0.1 unless told otherwise (shared/defaults.py).
SCRAPEABLE_BIND = "0.0.0.0"


def k8s_container_env(container: dict) -> dict[str, str]:
    """What a base container sees: its ConfigMaps (envFrom), then its own `env`."""
    config_maps = base_objects("ConfigMap")
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]].get("data", {}))
    env.update({e["name"]: e["value"] for e in container.get("env", []) if "value" in e})
    return env


def base_pods() -> dict[str, dict]:
    """workload name -> its pod template (every Deployment and StatefulSet of the base)."""
    workloads = {**base_objects("Deployment"), **base_objects("StatefulSet")}
    return {name: w["spec"]["template"] for name, w in workloads.items()}


def test_k8s_metrics_servers_listen_where_prometheus_scrapes() -> None:
    with_port = []
    for name, pod in base_pods().items():
        for container in pod["spec"]["containers"]:
            env = k8s_container_env(container)
            if "BROWSING_METRICS_PORT" not in env:
                continue
            with_port.append(name)
            assert env.get("BROWSING_METRICS_BIND") == SCRAPEABLE_BIND, (
                f"{name}/{container['name']} serves /metrics on BROWSING_METRICS_PORT but not "
                f"on {SCRAPEABLE_BIND}: Prometheus and the readiness probe cannot reach it"
            )
    assert {"scheduler", "node-de", "node-us"} <= set(with_port)
    # Every pod Prometheus scrapes on the metrics port is one of them.
    for name, pod in base_pods().items():
        annotations = pod["metadata"].get("annotations", {})
        if annotations.get("prometheus.io/scrape") == "true":
            for container in pod["spec"]["containers"]:
                env = k8s_container_env(container)
                if annotations["prometheus.io/port"] == env.get("BROWSING_METRICS_PORT"):
                    assert env.get("BROWSING_METRICS_BIND") == SCRAPEABLE_BIND, name


def test_overlays_keep_the_metrics_bind() -> None:
    for obj in k8s_objects(K8S / "overlays"):
        if obj["kind"] == "ConfigMap" and "BROWSING_METRICS_BIND" in obj.get("data", {}):
            assert obj["data"]["BROWSING_METRICS_BIND"] == SCRAPEABLE_BIND


def node_egress_policy() -> dict:
    (policy,) = load_yaml_docs(NETWORK_POLICY)
    assert policy["kind"] == "NetworkPolicy"
    assert policy["apiVersion"] == "networking.k8s.io/v1"
    return policy


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, "only matchLabels is understood here"
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(k) == v for k, v in wanted.items())


def egress_rules() -> list[dict]:
    return node_egress_policy()["spec"]["egress"]


def ip_blocks() -> list[dict]:
    return [peer["ipBlock"] for rule in egress_rules() for peer in rule["to"] if "ipBlock" in peer]


def allowed_by_ip_blocks(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    for block in ip_blocks():
        cidr = ipaddress.ip_network(block["cidr"])
        if ip.version != cidr.version or ip not in cidr:
            continue
        if not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
            return True
    return False


def test_node_egress_policy_selects_exactly_the_node_pods() -> None:
    assert "network-policy.yaml" in load_yaml(K8S_BASE / "kustomization.yaml")["resources"]
    policy = node_egress_policy()
    assert policy["spec"]["policyTypes"] == ["Egress"]
    selector = policy["spec"]["podSelector"]
    selected = {n for n, pod in base_pods().items() if selects(selector, pod["metadata"]["labels"])}
    assert selected == {"node-de", "node-us"}
    # The StatefulSets' own selectors match the same pods, so the policy follows them.
    for name in ("node-de", "node-us"):
        statefulset = base_objects("StatefulSet")[name]
        assert selects(selector, statefulset["spec"]["selector"]["matchLabels"])


def test_node_egress_policy_cuts_out_private_and_metadata_addresses() -> None:
    (v4,) = [b for b in ip_blocks() if b["cidr"] == "0.0.0.0/0"]
    required = {
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "127.0.0.0/8",
    }
    assert required <= set(v4["except"])
    for block in ip_blocks():
        cidr = ipaddress.ip_network(block["cidr"])
        for entry in block.get("except", []):
            # Kubernetes rejects an except entry outside its cidr.
            excepted = ipaddress.ip_network(entry)
            assert excepted.version == cidr.version and excepted.subnet_of(cidr), entry
            # Everything cut out is refused by the in-node filter too.
            assert denied_reason(excepted.network_address) is not None, entry
    for address in (
        "169.254.169.254",  # the cloud metadata service
        "10.96.0.1",
        "172.20.1.1",
        "192.168.1.10",
        "100.64.0.10",
        "127.0.0.1",
        "fd00:ec2::254",  # AWS's metadata service over IPv6
        "fe80::1",
        "::1",
        "64:ff9b::a9fe:a9fe",  # 169.254.169.254 through NAT64
        "64:ff9b::a00:1",  # 10.0.0.1 through NAT64
    ):
        assert not allowed_by_ip_blocks(address), address
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700::6810:84e5", "64:ff9b::808:808"):
        assert allowed_by_ip_blocks(address), address


def test_node_egress_policy_allows_dns_and_redis() -> None:
    def ports(rule: dict) -> set[tuple[str, int]]:
        return {(p.get("protocol", "TCP"), p["port"]) for p in rule.get("ports", [])}

    dns = [r for r in egress_rules() if {("UDP", 53), ("TCP", 53)} <= ports(r)]
    assert dns, "no egress rule allows DNS (UDP and TCP 53)"
    (peer,) = dns[0]["to"]
    assert peer["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert peer["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}

    redis = base_objects("StatefulSet")["redis"]["spec"]["template"]
    (redis_container,) = redis["spec"]["containers"]
    redis_ports = {p["containerPort"] for p in redis_container["ports"]}
    to_redis = [
        rule
        for rule in egress_rules()
        for peer in rule["to"]
        if set(peer) == {"podSelector"}
        and selects(peer["podSelector"], redis["metadata"]["labels"])
    ]
    assert to_redis, "no egress rule allows the redis pods"
    assert {port for _, port in ports(to_redis[0])} == redis_ports
    # Only DNS, Redis and the public internet: no rule opens everything or a whole namespace.
    for rule in egress_rules():
        assert rule.get("to"), "an egress rule without `to` allows every destination"
        for peer in rule["to"]:
            assert "namespaceSelector" not in peer or "podSelector" in peer, peer


# --- (e) the dashboard --------------------------------------------------------------------

# (title substring, metric the panel must query, further substrings of its PromQL)
REQUIRED_PANELS = [
    ("Tasks finished by status", "browsing_scheduler_tasks_finished_total", ["status"]),
    ("Tasks submitted", "browsing_gateway_tasks_submitted_total", []),
    ("Tasks waiting per user", "browsing_scheduler_tasks_waiting", ["sum by (user)"]),
    ("Tasks waiting by where", "browsing_scheduler_tasks_waiting_where", ["sum by (where)"]),
    ("Requests refused by limit", "browsing_requests_limited_total", ["by (limit)", "rate("]),
    (
        "Gateway request duration",
        "browsing_gateway_request_duration_seconds_bucket",
        ["histogram_quantile(0.5,", "histogram_quantile(0.95,", "endpoint"],
    ),
    (
        "Node attempt duration",
        "browsing_node_attempt_duration_seconds_bucket",
        ["histogram_quantile(0.95,"],
    ),
    ("queue wait", "browsing_scheduler_queue_wait_seconds_bucket", ["histogram_quantile(0.95,"]),
    (
        "Dispatch latency",
        "browsing_scheduler_dispatch_duration_seconds_bucket",
        ["histogram_quantile(0.95,"],
    ),
    ("Queue depth per node", "browsing_scheduler_node_queue_depth", ["node"]),
    ("Node up", "browsing_scheduler_node_up", []),
    ("Live nodes per country", "browsing_scheduler_live_nodes", ["country"]),
    ("Tasks failed by reason", "browsing_scheduler_tasks_failed_total", ["reason"]),
    ("Failed ratio", "browsing_scheduler_tasks_finished_total", ['status="failed"', "/"]),
    ("Fanout cancellations", "browsing_scheduler_attempts_cancelled_total", []),
    ("Sync waiters", "browsing_gateway_sync_waiters", []),
    ("Screenshots uploaded", "browsing_node_screenshots_uploaded_total", []),
    ("Screenshot bytes", "browsing_node_screenshot_bytes_total", []),
    ("Browser launches", "browsing_node_browser_launches_total", []),
    ("crashes", "browsing_node_browser_crashes_total", []),
]


def data_panels() -> list[dict]:
    return [p for p in walk_panels(dashboard()["panels"]) if p["type"] != "row"]


@pytest.mark.parametrize(("title", "metric", "fragments"), REQUIRED_PANELS)
def test_dashboard_has_panel(title: str, metric: str, fragments: list[str]) -> None:
    panels = [p for p in data_panels() if title.lower() in p["title"].lower()]
    assert panels, f"no dashboard panel titled like {title!r}"
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    matching = [e for e in exprs if metric in metric_names_in(e)]
    assert matching, f"panel {title!r} does not query {metric}"
    joined = " ".join(matching)
    assert [f for f in fragments if f not in joined] == []


def test_dashboard_uses_the_provisioned_datasource_everywhere() -> None:
    uid = load_yaml(GRAFANA_DATASOURCES)["datasources"][0]["uid"]
    assert uid == "prometheus"
    panels = data_panels()
    assert len(panels) >= len(REQUIRED_PANELS) - 2
    for panel in panels:
        assert panel["datasource"]["uid"] == uid, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", {"uid": uid})["uid"] == uid, panel["title"]


def test_dashboard_is_well_formed() -> None:
    d = dashboard()
    assert d["uid"] and d["title"]
    assert 36 <= d["schemaVersion"] <= 41
    ids = [p["id"] for p in walk_panels(d["panels"])]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    for p in walk_panels(d["panels"]):
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24 and g["h"] > 0, p["title"]


def volume_mounts(service: dict) -> dict[str, str]:
    """source -> path in the container, from compose's short volume syntax."""
    return dict(v.split(":")[:2] for v in service.get("volumes", []))


def test_grafana_provisioning_points_at_the_mounted_dashboard() -> None:
    mounts = volume_mounts(compose_services()["grafana"])
    (provider,) = load_yaml(GRAFANA_DASHBOARDS)["providers"]
    in_container = provider["options"]["path"]
    host_dirs = [src for src, dst in mounts.items() if dst == in_container]
    assert host_dirs, f"no volume mounted at {in_container}"
    assert (DEPLOY / host_dirs[0] / DASHBOARD.name).is_file()
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"


# --- alert rules --------------------------------------------------------------------------


def test_alert_rules_have_the_required_alerts() -> None:
    rules = {r["alert"]: r for r in alert_rules()}
    assert {"NoLiveNodeForCountry", "QueueWaitP95High", "TaskFailureRatioHigh"} <= set(rules)
    expected = {
        "NoLiveNodeForCountry": ("2m", ["browsing_scheduler_live_nodes", "== 0", "country"]),
        "QueueWaitP95High": (
            "10m",
            ["histogram_quantile(0.95", "browsing_scheduler_queue_wait_seconds_bucket", "> 30"],
        ),
        "TaskFailureRatioHigh": (
            "10m",
            ["browsing_scheduler_tasks_finished_total", 'status="failed"', "> 0.2"],
        ),
        "TasksWaitWhileNodesIdle": (
            "5m",
            [
                "sum(browsing_scheduler_tasks_waiting) > 0",
                "sum(browsing_scheduler_node_inflight) == 0",
                "sum(browsing_scheduler_live_nodes) > 0",
            ],
        ),
    }
    for name, (duration, fragments) in expected.items():
        rule = rules[name]
        assert rule["for"] == duration, name
        assert [f for f in fragments if f not in rule["expr"]] == [], name
        assert rule["labels"]["severity"] and rule["annotations"]["summary"], name


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    return path


def run_promtool(*args: str) -> None:
    result = subprocess.run(
        [promtool(), *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_checks_the_rules() -> None:
    run_promtool("check", "rules", str(ALERTS))


def test_promtool_unit_tests_of_the_alerts_pass() -> None:
    run_promtool("test", "rules", str(ALERTS_TEST))


def test_promtool_parses_dashboard_and_keda_queries(tmp_path: Path) -> None:
    """Each query becomes a recording rule, so `promtool check rules` parses its PromQL."""
    exprs = dashboard_exprs() + keda_queries()
    rules = [
        {"record": f"browsing:check_{i}", "expr": e.replace("$__rate_interval", "1m")}
        for i, e in enumerate(exprs)
    ]
    path = tmp_path / "queries.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "queries", "rules": rules}]}))
    run_promtool("check", "rules", str(path))


# What the scheduler exports in three situations, and the demand each country's KEDA query
# must read from it: None is an empty result, which KEDA reports as an error.
KEDA_SCENARIOS = [
    (
        "a backlog: in-flight and waiting add up, pinned tasks do not count",
        {
            'browsing_scheduler_node_inflight{node="node.de.01"}': 2,
            'browsing_scheduler_node_inflight{node="node.de.02"}': 1,
            'browsing_scheduler_node_inflight{node="node.us.01"}': 2,
            'browsing_scheduler_node_inflight{node="node.us.02"}': 2,
            'browsing_scheduler_tasks_waiting_where{where="DE"}': 3,
            'browsing_scheduler_tasks_waiting_where{where="US"}': 5,
            'browsing_scheduler_tasks_waiting_where{where="any"}': 4,
            'browsing_scheduler_tasks_waiting_where{where="node"}': 7,
        },
        {"de": 10, "us": 13},
    ),
    (
        "no node of a country registered yet: its in-flight sum is missing",
        {
            'browsing_scheduler_node_inflight{node="node.us.01"}': 2,
            'browsing_scheduler_tasks_waiting_where{where="US"}': 0,
            'browsing_scheduler_tasks_waiting_where{where="any"}': 1,
            'browsing_scheduler_tasks_waiting_where{where="node"}': 0,
        },
        {"de": 1, "us": 3},
    ),
    ("no scheduler reports", {}, {"de": None, "us": None}),
]


def test_promtool_evaluates_the_keda_queries(tmp_path: Path) -> None:
    """Each country's query against the series the scheduler exports (promtool unit test)."""
    promtool()
    queries = {
        name.removeprefix("node-"): obj["spec"]["triggers"][0]["metadata"]["query"]
        for name, obj in base_objects("ScaledObject").items()
    }
    assert set(queries) == {"de", "us"}
    tests = []
    for name, series, demand in KEDA_SCENARIOS:
        # promtool needs an input series even when the scenario has none.
        inputs = {**series, 'up{job="browsing-scheduler"}': 1}
        tests.append(
            {
                "name": name,
                "interval": "1m",
                "input_series": [{"series": s, "values": f"{v}x5"} for s, v in inputs.items()],
                "promql_expr_test": [
                    {
                        "expr": queries[country],
                        "eval_time": "2m",
                        "exp_samples": []
                        if demand[country] is None
                        else [{"value": demand[country]}],
                    }
                    for country in sorted(queries)
                ],
            }
        )
    path = tmp_path / "keda_test.yml"
    path.write_text(yaml.safe_dump({"rule_files": [], "tests": tests}))
    run_promtool("test", "rules", str(path))


# --- (f) the compose file -----------------------------------------------------------------

REQUIRED_SERVICES = {
    "redis",
    "minio",
    "minio-init",
    "prometheus",
    "grafana",
    "gateway",
    "scheduler",
    "node-de-01",
    "node-us-01",
}
PINNED_IMAGE = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$|^[^@\s]+:(?P<tag>[A-Za-z0-9_][\w.-]*)$")


def compose_services() -> dict[str, dict]:
    return load_yaml(COMPOSE)["services"]


def is_pinned(image: str) -> bool:
    if "/" in image.rsplit(":", 1)[-1]:  # registry port, no tag: host:5000/name
        return False
    match = PINNED_IMAGE.match(image)
    return bool(match) and match.group("tag") != "latest"


def test_pinned_image_matcher() -> None:
    assert is_pinned("prom/prometheus:v2.54.1")
    assert is_pinned("minio/mc:RELEASE.2024-10-08T09-37-26Z")
    assert is_pinned("redis@sha256:" + "a" * 64)
    assert not is_pinned("grafana/grafana")
    assert not is_pinned("grafana/grafana:latest")
    assert not is_pinned("registry:5000/grafana")


def test_compose_has_the_services() -> None:
    assert REQUIRED_SERVICES - set(compose_services()) == set()


def test_compose_images_are_pinned() -> None:
    for name, service in compose_services().items():
        assert "image" in service or "build" in service, name
        if "image" in service:
            assert is_pinned(service["image"]), f"{name}: {service['image']} is not pinned"


def test_compose_redis_never_evicts_and_keeps_an_aof() -> None:
    command = compose_services()["redis"]["command"]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"


def test_compose_minio_init_creates_the_bucket_with_expiry(tmp_path: Path) -> None:
    """Run minio-init's script with a stand-in `mc` that logs its calls and stdin."""
    service = compose_services()["minio-init"]
    assert service["image"].startswith("minio/mc:")
    assert service["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = service["command"]
    script = script.replace("$$", "$")  # compose's escape for a literal $
    log = tmp_path / "mc.log"
    fake = tmp_path / "mc"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n[ "$3" != import ] || cat >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}", **service["environment"]}
    result = subprocess.run(
        ["sh", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[:3] == [
        "ls local",
        "mb --ignore-existing local/browsing-screenshots",
        "ilm rule import local/browsing-screenshots",
    ]
    import_at = calls.index("ilm rule import local/browsing-screenshots")
    stdin = "\n".join(calls[import_at + 1 :]).split("\nilm rule ls")[0]
    # The service's own rules, all of them: the import replaces the bucket's rules, and a
    # missing one was deleted on every `compose up` (found by an operator's review).
    rules = {r["ID"]: r for r in json.loads(stdin)["Rules"]}
    assert set(rules) == {LIFECYCLE_RULE_ID, f"{LIFECYCLE_RULE_ID}:browser-state/"}
    rule = rules[LIFECYCLE_RULE_ID]
    assert rule["Filter"]["Prefix"] == "screenshots/"
    assert rule["Expiration"]["Days"] == 5
    assert rule["Status"] == "Enabled"
    state = rules[f"{LIFECYCLE_RULE_ID}:browser-state/"]
    assert state["Filter"]["Prefix"] == Settings().session_state_prefix
    assert state["Expiration"]["Days"] == math.ceil(Settings().session_state_ttl_s / 86_400)
    assert service["environment"]["MC_HOST_local"].endswith("@minio:9000")
    for name in ("gateway", "scheduler", "node-de-01", "node-us-01"):
        depends = compose_services()[name]["depends_on"]
        assert depends["minio-init"]["condition"] == "service_completed_successfully"


def test_compose_bind_mounts_exist() -> None:
    for name, service in compose_services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"


def test_prometheus_scrapes_every_process_on_its_metrics_port() -> None:
    services = compose_services()
    targets = {
        target
        for job in load_yaml(PROMETHEUS)["scrape_configs"]
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    assert "gateway:8080" in targets
    workers = [n for n, s in services.items() if "celery" in s.get("command", [])]
    assert {"scheduler", "node-de-01", "node-us-01"} <= set(workers)
    for name in workers:
        port = services[name]["environment"]["BROWSING_METRICS_PORT"]
        assert int(port) > 0
        assert f"{name}:{port}" in targets, f"{name} is not scraped on its metrics port {port}"
    assert load_yaml(PROMETHEUS)["rule_files"] == ["/etc/prometheus/alerts.yml"]
    mounts = volume_mounts(services["prometheus"])
    assert mounts["./prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert mounts["./prometheus/prometheus.yml"] == "/etc/prometheus/prometheus.yml"


def test_nodes_run_under_tini() -> None:
    text = DOCKERFILE.read_text()
    entrypoint = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", text, re.M)
    assert entrypoint, "the Dockerfile has no exec-form ENTRYPOINT"
    assert json.loads(entrypoint.group(1))[0].endswith("tini")
    assert re.search(r"apt-get install[^\n]*\btini\b", text)
    for name, service in compose_services().items():
        if "build" in service:
            assert "entrypoint" not in service, f"{name} replaces the tini ENTRYPOINT"


def compose_environment(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # KEY=VALUE entries
        env = dict(e.split("=", 1) for e in env)
    return {k: str(v) for k, v in env.items()}


def test_compose_metrics_servers_listen_on_the_compose_network_only() -> None:
    services = compose_services()
    with_port = []
    for name, service in services.items():
        env = compose_environment(service)
        if "BROWSING_METRICS_PORT" not in env:
            continue
        with_port.append(name)
        assert env.get("BROWSING_METRICS_BIND") == SCRAPEABLE_BIND, (
            f"{name} serves /metrics on BROWSING_METRICS_PORT but not on {SCRAPEABLE_BIND}: "
            "Prometheus cannot scrape it from its own container"
        )
        if name == "gateway":
            continue  # its /metrics is on its API port, published on purpose
        # Listening on every address is fine inside the network; not on the host's.
        published = [
            str(p["target"]) if isinstance(p, dict) else str(p).rsplit(":", 1)[-1].split("/")[0]
            for p in service.get("ports", [])
        ]
        assert env["BROWSING_METRICS_PORT"] not in published, f"{name} publishes /metrics"
    assert {"scheduler", "node-de-01", "node-us-01"} <= set(with_port)


def test_readme_isolation_override_names_real_services() -> None:
    """The override in deploy/README.md ("Egress") keeps nodes on their own network."""
    readme = (DEPLOY / "README.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    (override,) = [yaml.safe_load(b) for b in blocks if "docker-compose.isolated.yml" in b]
    services = compose_services()
    assert set(override["services"]) <= set(services)
    networks = {name: s["networks"] for name, s in override["services"].items()}
    nodes = {n for n, s in services.items() if "nodes" in s.get("command", [])}
    assert nodes and all(networks[n] == ["nodes"] for n in nodes)
    for needed in ("redis", "minio"):
        assert "nodes" in networks[needed]
    assert set(override["networks"]) == {"nodes"}
