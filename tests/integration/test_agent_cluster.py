"""The agent through a real cluster: a node whose LLM settings point at the scripted
stub, and whose browser goes out through an upstream proxy with credentials.

One node, one process: the LLM template drives a form task over POST /sync, and a
rules task shows the page really came through the proxy, while ``info`` names the
proxy without its credentials.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from threading import Thread

import pytest

from browsing.cluster import LocalCluster, free_port
from tests.conftest import ALICE, Api, allow, assert_no_secret_in_logs, running
from tests.integration.test_metrics import scrape, value
from tests.sites.server import serve_sites
from tests.support.llm_stub import (
    ScriptedLLM,
    call,
    form_task_script,
    observation,
    serve_llm_stub,
)
from tests.support.slow_proxy import _handler

SYNC = "/api/v1/browsing/sync"
PROXY_SECRET = "s3cret-proxy-pass"


@pytest.fixture(scope="module")
def sites() -> Iterator[str]:
    with serve_sites() as url:
        yield url


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[str, list[str]]]:
    """A forwarding proxy recording every URL it forwards: (host:port, URLs)."""
    seen: list[str] = []
    forward = _handler(0.0)

    class Recording(forward):  # type: ignore[misc, valid-type]
        def _record(self) -> None:
            seen.append(self.path)
            forward._forward(self)

        do_GET = do_POST = do_HEAD = _record

    server = ThreadingHTTPServer(("127.0.0.1", 0), Recording)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def llm(sites: str) -> Iterator[ScriptedLLM]:
    with serve_llm_stub(form_task_script(sites)) as stub:
        yield stub


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory, llm: ScriptedLLM, proxy: tuple[str, list[str]], sites: str
) -> Iterator[LocalCluster]:
    node_env = {
        "BROWSING_LLM_BASE_URL": llm.base_url,
        "BROWSING_LLM_MODEL": "stub-model",
        "BROWSING_LLM_API_KEY": "sk-cluster",
        "BROWSING_NODE_PROXY": f"http://agent:{PROXY_SECRET}@{proxy[0]}",
        "BROWSING_NODE_PROXY_BYPASS": "<-loopback>",  # Chromium syntax; means nothing now
        "BROWSING_EGRESS_ALLOW": allow(sites),
    }
    cluster = LocalCluster(
        node_queues=("node.de.01",),
        node_concurrency=1,
        port=free_port(),
        workdir=tmp_path_factory.mktemp("agent-cluster"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE}",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_NODE_DEAD_AFTER_S": "4",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_SYNC_TIMEOUT_S": "90",
        },
        node_env={"node.de.01": node_env},
    )
    with running(cluster):
        yield cluster
    assert_no_secret_in_logs(cluster, (ALICE, PROXY_SECRET, "sk-cluster"))


@pytest.fixture(scope="module")
def api(cluster: LocalCluster) -> Api:
    return Api(cluster.base_url, ALICE)


def sync(api: Api, body: dict) -> dict:
    resp = api.post(SYNC, {"timeout": 90_000, **body}, timeout=120)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_llm_template_completes_a_form_task(
    api: Api, cluster: LocalCluster, llm: ScriptedLLM, sites: str
) -> None:
    body = sync(api, {"task": "Send the contact form as Ada from London.", "template": "llm"})
    assert body["success"] is True, body
    # Four calls, each reported by the stub as 100 prompt and 20 completion tokens.
    spent = {"calls": 4, "prompt_tokens": 400, "completion_tokens": 80, "total_tokens": 480}
    assert body["info"]["llm"] == {"model": "stub-model", **spent}
    assert body["info"]["attempts"][0]["llm"] == body["info"]["llm"]
    # The steps the model took, written in the rules grammar, reach the API's info.
    assert body["info"]["planner"] == "llm" and body["info"]["plan"] is None
    assert body["info"]["replay"] == {
        "script": f'Open {sites}/form.html. Type "Ada" into "Full name". Type "London" into '
        '"City". Select "Blue" from the "Favourite colour" dropdown. Click "Send".',
        "replayable": True,
        "why": None,
    }
    samples = scrape(cluster.metrics_url("node.de.01"))
    labels = {"model": "stub-model", "template": "llm"}
    assert value(samples, "browsing_node_llm_calls_total", **labels) == 4
    assert value(samples, "browsing_node_llm_tokens_total", kind="prompt", **labels) == 400
    assert value(samples, "browsing_node_llm_tokens_total", kind="completion", **labels) == 80
    result = json.loads(body["payload"])["result"]
    assert "Form received" in result and "Ada" in result and "London" in result
    assert not llm.errors, llm.errors
    assert len(llm.requests) == 4
    assert llm.requests[0]["model"] == "stub-model"
    assert llm.requests[0]["_authorization"] == "Bearer sk-cluster"
    seen = observation(llm.requests[1])
    assert f"URL: {sites}/form.html" in seen and '[1] textbox "Full name"' in seen


def test_structured_output_is_delivered_as_data_in_the_payload(
    api: Api, llm: ScriptedLLM, sites: str
) -> None:
    schema = {
        "type": "object",
        "properties": {"price": {"type": "number"}, "tea": {"type": "string"}},
        "required": ["price", "tea"],
    }
    first = len(llm.requests)
    llm.script.extend(
        [
            call("navigate", url=f"{sites}/shop.html"),
            call("done", text="Sencha costs 12", success=True, data={"tea": "Sencha"}),
            call("done", text="Sencha costs 12", success=True, data={"tea": "Sencha", "price": 12}),
        ]
    )
    body = sync(api, {"task": "What does Sencha cost?", "template": "llm", "output_schema": schema})
    assert body["success"] is True, body
    payload = json.loads(body["payload"])
    assert payload["result"] == "Sencha costs 12"
    assert payload["data"] == {"tea": "Sencha", "price": 12}
    assert not llm.errors, llm.errors
    sent = llm.requests[first:]
    assert len(sent) == 3 and body["info"]["llm"]["calls"] == 3
    assert "'price' is a required property" in sent[2]["messages"][-1]["content"]


def test_browsing_goes_through_the_proxy_without_leaking_credentials(
    api: Api, proxy: tuple[str, list[str]], sites: str
) -> None:
    address, forwarded = proxy
    body = sync(
        api, {"task": f"Open {sites}/links_2.html and return the title", "template": "lean"}
    )
    assert body["success"] is True, body
    assert json.loads(body["payload"])["result"] == "Links Page Two"
    assert f"{sites}/links_2.html" in forwarded  # the page came through the proxy
    assert body["info"]["egress"] == f"http://{address}"
    assert body["info"]["attempts"][0]["egress"] == f"http://{address}"
    status = api.get("/api/v1/browsing/status", params={"task_id": body["task_id"]})
    assert PROXY_SECRET not in status.text and PROXY_SECRET not in json.dumps(body)
    assert "agent:" not in status.text
