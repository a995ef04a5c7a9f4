"""The webhook outbox against a real redis-server: written in the same step as the
terminal status, taken with leases, reported once per lease."""

from __future__ import annotations

import pytest
import redis

from shared import keys
from shared.records import Placement, TaskStore
from shared.request import TaskRequest
from shared.webhooks import Webhook, WebhookStore

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture()
def client(redis_url: str) -> redis.Redis:
    r = redis.Redis.from_url(redis_url, decode_responses=True)
    r.flushdb()
    return r


@pytest.fixture()
def store(client) -> TaskStore:
    return TaskStore(client, record_ttl_s=3600)


@pytest.fixture()
def hooks(client) -> WebhookStore:
    return WebhookStore(client, state_ttl_s=3600)


def create(store: TaskStore, task_id: str, webhook: Webhook | None) -> None:
    request = TaskRequest(task="x", timeout_ms=60_000, webhook=webhook)
    assert store.create(task_id, owner="alice", request=request) is None


def test_the_record_keeps_the_webhook_apart_from_the_request(store, client):
    create(store, "web:a", Webhook(url="https://h.example/x", secret=SECRET))
    stored = client.hgetall(keys.task("web:a"))
    assert SECRET not in stored["request"] and "webhook" not in stored["request"]
    assert store.get("web:a").request.webhook == Webhook(url="https://h.example/x", secret=SECRET)
    create(store, "web:b", None)
    assert store.get("web:b").request.webhook is None


def test_a_terminal_status_puts_a_webhook_task_in_the_outbox_in_the_same_step(store, client):
    create(store, "web:failed", Webhook(url="https://h.example/x"))
    create(store, "web:won", Webhook(url="https://h.example/x"))
    create(store, "web:plain", None)
    assert client.zcard(keys.WEBHOOK_OUTBOX) == 0  # nothing before the end
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(keys.WEBHOOK_CHANNEL)
    assert store.fail("web:failed", "cancelled")
    assert store.fail("web:plain", "cancelled")
    store.assign("web:won", [Placement(node="n1", queue="n1", country="DE", celery_id="c")])
    assert store.claim("web:won", 1, "n1") == "ok"
    assert store.finish("web:won", 1, "n1", success=True, payload="{}") == "won"
    outbox = dict(client.zrange(keys.WEBHOOK_OUTBOX, 0, -1, withscores=True))
    assert set(outbox) == {"web:failed", "web:won"}
    assert outbox["web:won"] == store.get("web:won").finished_ms  # due at once
    woken = [pubsub.get_message(timeout=0.5) for _ in range(4)]  # the first: subscribed
    assert {m["data"] for m in woken if m} == {"web:failed", "web:won"}


def test_leases_keep_two_deliverers_apart_and_a_stale_report_is_refused(store, hooks, client):
    create(store, "web:t", Webhook(url="https://h.example/x"))
    store.fail("web:t", "cancelled")
    now = store.now_ms()
    (lease,), _ = hooks.take_due(now, lease_ms=1000, limit=10)
    assert lease.task_id == "web:t" and lease.attempts == 0
    assert hooks.take_due(now, lease_ms=1000, limit=10)[0] == []  # leased
    # The first deliverer hangs past its lease: another takes the entry over.
    (again,), _ = hooks.take_due(now + 1001, lease_ms=1000, limit=10)
    assert again.token == lease.token + 1
    assert not hooks.report(lease, outcome="delivered", now_ms=now, status=200)
    assert hooks.report(again, outcome="retry", now_ms=now, status=500, next_try_ms=now + 5000)
    state = hooks.state("web:t")
    assert (state.attempts, state.last_status, state.result) == (1, 500, None)
    taken, next_due = hooks.take_due(now + 4999, lease_ms=1000, limit=10)
    assert taken == [] and next_due == now + 5000
    (third,), _ = hooks.take_due(now + 5000, lease_ms=1000, limit=10)
    assert third.attempts == 1
    assert hooks.report(third, outcome="delivered", now_ms=now + 5010, status=204)
    state = hooks.state("web:t")
    assert (state.attempts, state.result, state.delivered_ms) == (2, "delivered", now + 5010)
    assert client.zcard(keys.WEBHOOK_OUTBOX) == 0
    assert 0 < client.ttl(keys.webhook("web:t")) <= 3600


def test_the_body_is_frozen_by_the_first_try(hooks):
    assert hooks.freeze_body("web:f", b'{"a":1}') == b'{"a":1}'
    assert hooks.freeze_body("web:f", b'{"a":2}') == b'{"a":1}'


def test_a_user_secret_is_made_once_and_rotation_keeps_the_old_one_a_while(hooks):
    first = hooks.user_secret("alice")
    assert first.startswith("whsec_") and hooks.user_secret("alice") == first
    assert hooks.user_secret("bob") != first
    rotated = hooks.rotate_user_secret("alice", now_ms=1_000)
    assert rotated != first and hooks.user_secret("alice") == rotated
    assert hooks.user_signing_secrets("alice", now_ms=2_000) == [rotated, first]
    assert hooks.user_signing_secrets("alice", now_ms=1_000 + 86_400_000) == [rotated]
