"""Webhooks end to end: a cluster of its own (one node), real receivers on threads, and
the gateway and scheduler restarted with deliveries pending.

Most tasks here fail at once (a country no node has): a failed task's webhook is the
same delivery as a completed one's, without a browser's seconds. One test runs a real
completed task."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator

import pytest
import requests

from browsing.cluster import LocalCluster, free_port
from shared.webhooks import verify
from tests.conftest import ALICE, BOB, Api, allow, assert_no_secret_in_logs, poll, running
from tests.support.receiver import Receiver

ASYNC = "/api/v1/browsing/async"
SECRET_URL = "/api/v1/browsing/webhook-secret"
REQUEST_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
USER_SECRETS: list[str] = []  # the users' signing secrets read here: in no log either
FAILS_AT_ONCE = {"task": "Open https://example.com", "filter": {"country_iso": "FR"}}


@pytest.fixture(scope="module")
def receivers() -> dict[str, Receiver]:
    """Allowed receivers (by host:port), and one the egress policy does not allow."""
    return {name: Receiver() for name in ("main", "flaky", "down", "restart", "forbidden")}


@pytest.fixture(scope="module")
def hooked(tmp_path_factory, sites: str, receivers) -> Iterator[LocalCluster]:
    allowed = [r.base_url for name, r in receivers.items() if name != "forbidden"]
    cluster = LocalCluster(
        node_queues=("node.de.01",),
        port=free_port(),
        node_concurrency=1,
        workdir=tmp_path_factory.mktemp("webhooks"),
        reuse_services=False,
        env_overrides={
            "BROWSING_API_KEYS": f"alice:{ALICE},bob:{BOB}",
            "BROWSING_NODE_HEARTBEAT_INTERVAL_S": "0.5",
            "BROWSING_GATEWAY_WORKERS": "1",
            "BROWSING_EGRESS_ALLOW": allow(sites, *allowed),
            "BROWSING_WEBHOOK_RETRY_BASE_S": "0.2",
            "BROWSING_WEBHOOK_RETRY_MAX_S": "1",
            "BROWSING_WEBHOOK_TIMEOUT_S": "2",
        },
    )
    with running(cluster):
        yield cluster
    assert_no_secret_in_logs(cluster, (REQUEST_SECRET, ALICE, BOB, *USER_SECRETS))


@pytest.fixture()
def alice(hooked) -> Api:
    return Api(hooked.base_url, ALICE)


def hook_state(api: Api, task_id: str) -> dict:
    return api.status(task_id)["webhook"]


def delivered(api: Api, task_id: str, timeout_s: float = 20) -> dict:
    return poll(
        lambda: (s := api.status(task_id))["webhook"]["delivered"] and s,
        timeout_s,
        what=f"webhook of {task_id} delivered",
    )


def test_a_completed_task_is_posted_at_once_signed_with_the_request_secret(alice, receivers, sites):
    main = receivers["main"].start()
    body = {
        "task": f"Open {sites}/index.html and return the title",
        "webhook": {"url": main.url("/in?source=test"), "secret": REQUEST_SECRET},
    }
    task_id = alice.submit(body)
    waiting = alice.status(task_id)
    assert waiting["webhook"]["state"] == "pending" and not waiting["webhook"]["delivered"]
    final = alice.wait(task_id, 60)
    assert final["status"] == "completed", final
    (hit,) = poll(lambda: main.for_task(task_id), 10, what="the webhook")
    assert hit.path == "/in?source=test"
    assert hit.headers["content-type"] == "application/json"
    assert hit.headers["webhook-id"] == "msg_" + task_id.removeprefix("web:")
    assert verify(REQUEST_SECRET, hit.headers, hit.body, now_s=int(time.time()))
    event = hit.event
    assert event["type"] == "task.completed" and event["timestamp"] == final["finished_at"]
    data = event["data"]
    assert data["task_id"] == task_id and data["status"] == "completed"
    assert data["payload"] == final["payload"] and "Agent Test Home" in data["payload"]
    status = delivered(alice, task_id)
    hook = status["webhook"]
    assert hook["url"] == main.url("/in?source=test")
    assert (hook["attempts"], hook["last_status"], hook["state"]) == (1, 200, "delivered")
    assert hook["signed_with"] == "request_secret" and hook["delivered_at"]
    assert REQUEST_SECRET not in json.dumps(status)
    assert REQUEST_SECRET not in alice.get(ASYNC.replace("async", "templates")).text


def test_a_receiver_answering_500_twice_gets_three_tries_with_one_webhook_id(alice, receivers):
    flaky = receivers["flaky"].start()
    flaky.answers.extend([500, 503])
    task_id = alice.submit({**FAILS_AT_ONCE, "webhook": {"url": flaky.url()}})
    status = delivered(alice, task_id)
    hits = flaky.for_task(task_id)
    assert len(hits) == 3
    assert len({h.headers["webhook-id"] for h in hits}) == 1
    assert len({h.body for h in hits}) == 1  # the same event every time
    secret = alice.get(SECRET_URL).json()["secret"]  # no request secret: the user's
    USER_SECRETS.append(secret)
    assert all(verify(secret, h.headers, h.body, now_s=int(time.time())) for h in hits)
    assert hits[0].event["type"] == "task.failed"
    assert hits[0].event["data"]["error"] == "no live browsing node matches country_iso=FR"
    hook = status["webhook"]
    assert (hook["attempts"], hook["last_status"], hook["signed_with"]) == (3, 200, "user_secret")
    gaps = [b.at - a.at for a, b in zip(hits, hits[1:], strict=False)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # backed off (base 0.2 s, jitter down to 0.1)


def test_a_receiver_down_for_a_while_then_up_gets_it_once(alice, receivers):
    down = receivers["down"]  # not started: connections are refused
    task_id = alice.submit({**FAILS_AT_ONCE, "webhook": {"url": down.url()}})
    retrying = poll(lambda: (h := hook_state(alice, task_id))["attempts"] >= 3 and h, 20)
    assert retrying["state"] == "retrying" and not retrying["delivered"]
    assert retrying["last_error"] == "connection refused" and retrying["next_try_at"]
    down.start()
    delivered(alice, task_id)
    time.sleep(1.5)  # a retry would have come by now
    (hit,) = down.for_task(task_id)
    secret = alice.get(SECRET_URL).json()["secret"]
    assert verify(secret, hit.headers, hit.body, now_s=int(time.time()))


def test_410_stops_the_retries(alice, receivers):
    main = receivers["main"].start() if receivers["main"]._server is None else receivers["main"]
    main.answers.append(410)
    task_id = alice.submit({**FAILS_AT_ONCE, "webhook": {"url": main.url("/gone")}})
    poll(lambda: hook_state(alice, task_id)["state"] == "stopped", 20)
    time.sleep(1.0)
    assert len(main.for_task(task_id)) == 1
    assert hook_state(alice, task_id)["attempts"] == 1


def test_a_name_resolving_to_a_refused_address_is_checked_at_delivery(alice, receivers):
    forbidden = receivers["forbidden"].start()
    # A name passes the submit (its addresses can change); the delivery resolves it and
    # refuses the loopback address, whose port the allow list does not name.
    task_id = alice.submit(
        {**FAILS_AT_ONCE, "webhook": {"url": f"http://localhost:{forbidden.port}/"}}
    )
    hook = poll(lambda: (h := hook_state(alice, task_id))["state"] == "refused" and h, 20)
    assert hook["last_error"].startswith("egress refused") and not hook["delivered"]
    assert "127.0.0.1" not in hook["last_error"]  # no internal address shown to users
    assert forbidden.received == []
    literal = alice.post(ASYNC, {**FAILS_AT_ONCE, "webhook": {"url": forbidden.url()}})
    assert literal.status_code == 400 and "loopback" in literal.json()["error"]


def test_deliveries_pending_across_a_scheduler_and_gateway_restart_arrive(hooked, alice, receivers):
    target = receivers["restart"]  # down
    task_ids = [alice.submit({**FAILS_AT_ONCE, "webhook": {"url": target.url()}}) for _ in range(3)]
    for task_id in task_ids:
        poll(lambda t=task_id: hook_state(alice, t)["attempts"] >= 1, 20)
    hooked.stop_process("scheduler", signal.SIGKILL)  # a crash: nothing is flushed
    Api.close_all()  # gunicorn's graceful stop waits for idle keep-alive connections
    hooked.stop_process("gateway")
    target.start()
    time.sleep(1.5)
    assert target.received == []  # no scheduler: nothing sent
    restarted = time.monotonic()
    hooked.start_scheduler()
    hooked.start_gateway()
    gateway_s = time.monotonic() - restarted
    for task_id in task_ids:
        delivered(alice, task_id, 30)
        assert len(target.for_task(task_id)) == 1
    print(
        f"restarted: gateway up after {gateway_s:.1f} s, every webhook delivered after "
        f"{max(h.at for h in target.received) - time.time() + time.monotonic() - restarted:.1f} s"
    )


def test_the_signing_secret_is_the_owner_s_and_rotates(hooked, alice, receivers):
    anonymous = Api(hooked.base_url, None)
    assert anonymous.get(SECRET_URL).status_code == 401
    assert anonymous.post(SECRET_URL).status_code == 401
    assert Api(hooked.base_url, "wrong-key").get(SECRET_URL).status_code == 401
    bob = Api(hooked.base_url, BOB)
    first = alice.get(SECRET_URL)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    old = first.json()["secret"]
    assert alice.get(SECRET_URL).json()["secret"] == old
    assert bob.get(SECRET_URL).json()["secret"] != old
    rotated = alice.post(SECRET_URL)
    assert rotated.status_code == 200
    new = rotated.json()["secret"]
    USER_SECRETS.extend([old, new])
    assert new != old and alice.get(SECRET_URL).json()["secret"] == new
    # Signed with both for a while, so a receiver still holding the old one accepts it.
    main = receivers["main"] if receivers["main"]._server else receivers["main"].start()
    task_id = alice.submit({**FAILS_AT_ONCE, "webhook": {"url": main.url("/rotated")}})
    delivered(alice, task_id)
    (hit,) = main.for_task(task_id)
    now_s = int(time.time())
    assert verify(new, hit.headers, hit.body, now_s=now_s)
    assert verify(old, hit.headers, hit.body, now_s=now_s)


def test_delivery_metrics_count_outcomes(hooked):
    text = requests.get(hooked.metrics_url("scheduler"), timeout=5).text
    lines = [ln for ln in text.splitlines() if ln.startswith("browsing_webhook_deliveries_total")]
    assert any('outcome="delivered"' in ln and not ln.endswith(" 0.0") for ln in lines), lines
    assert "browsing_webhook_delivery_latency_seconds_count" in text
