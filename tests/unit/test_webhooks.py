"""Webhook signing (the Standard Webhooks test vector), the request's webhook field as
the gateway validates it, and the retry schedule."""

from __future__ import annotations

import json

import pytest

from gateway.validation import parse_task_request
from scheduler.webhooks import WebhookDeliverer, message_id
from shared.config import Settings
from shared.errors import ValidationError
from shared.records import NewTask
from shared.webhooks import (
    SecretFormatError,
    Webhook,
    new_secret,
    secret_key,
    sign_headers,
    signature,
    verify,
)

# The specification's reference libraries test against this vector.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

S = Settings()


def test_signature_matches_the_specification_vector():
    assert signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    headers = sign_headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers == {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": SPEC_SIGNATURE,
    }
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now_s=SPEC_TIMESTAMP + 10)


def test_verify_refuses_a_changed_body_another_secret_and_an_old_timestamp():
    headers = sign_headers([SPEC_SECRET], SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert not verify(SPEC_SECRET, headers, SPEC_BODY + b" ", now_s=SPEC_TIMESTAMP)
    assert not verify(new_secret(), headers, SPEC_BODY, now_s=SPEC_TIMESTAMP)
    assert not verify(SPEC_SECRET, headers, SPEC_BODY, now_s=SPEC_TIMESTAMP + 301)


def test_a_rotation_signs_with_both_secrets_and_either_verifies():
    old, new = new_secret(), new_secret()
    headers = sign_headers([new, old], "msg_1", 1000, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert verify(new, headers, b"{}", now_s=1000) and verify(old, headers, b"{}", now_s=1000)


@pytest.mark.parametrize(
    "secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!notbase64!!!", "whsec_c2hvcnQ="]
)
def test_a_malformed_secret_is_refused_without_showing_it(secret):
    with pytest.raises(SecretFormatError) as info:
        secret_key(secret)
    assert secret not in str(info.value)


def test_new_secrets_are_valid_and_distinct():
    a, b = new_secret(), new_secret()
    assert a != b and len(secret_key(a)) == 32


def parse(webhook, settings: Settings = S):
    return parse_task_request({"task": "Open https://example.com", "webhook": webhook}, settings)


def test_a_webhook_is_parsed_and_kept_outside_the_request_json():
    req = parse({"url": "https://hooks.example.com/in?x=1", "secret": SPEC_SECRET})
    assert req.webhook == Webhook(url="https://hooks.example.com/in?x=1", secret=SPEC_SECRET)
    assert SPEC_SECRET not in repr(req)
    assert "webhook" not in req.to_dict() and SPEC_SECRET not in req.to_json()
    task = NewTask.of("web:1", owner="alice", request=req)
    assert SPEC_SECRET not in repr(task) and SPEC_SECRET not in task.request_json
    assert json.loads(task.webhook_json)["secret"] == SPEC_SECRET
    assert parse(None).webhook is None
    assert parse({"url": "http://example.com"}).webhook == Webhook(url="http://example.com")


@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        ("https://example.com", "webhook must be an object"),
        ({}, "webhook.url is required"),
        ({"url": 5}, "webhook.url is required"),
        ({"url": "ftp://example.com/x"}, "http:// or https://"),
        ({"url": "https://"}, "http:// or https://"),
        ({"url": "example.com/hook"}, "http:// or https://"),
        ({"url": "https://example.com/" + "a" * 2100}, "too long"),
        ({"url": "https://u:p@example.com/"}, "credentials"),
        ({"url": "https://example.com:99999/"}, "not a valid URL"),
        ({"url": "https://example.com", "events": ["x"]}, "unknown field 'events'"),
        ({"url": "https://example.com", "secret": 5}, "webhook.secret must be a string"),
        ({"url": "https://example.com", "secret": "hunter2-password"}, "starts with whsec_"),
        ({"url": "http://127.0.0.1:9/hook"}, "a loopback address"),
        ({"url": "http://[::1]/hook"}, "a loopback address"),
        ({"url": "http://10.1.2.3/hook"}, "a private address"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "a link-local address"),
        ({"url": "http://2130706433/"}, "a loopback address"),
        # Refused at submit, not retried for a day: http.client cannot send them.
        ({"url": "https://example.com/\u00fc"}, "percent-encode the path"),
        ({"url": "https://example.com/a\x01b"}, "percent-encode the path"),
        ({"url": "https://a..b/hook"}, "not a valid host name"),
        ({"url": "https://" + "a" * 70 + ".example/"}, "not a valid host name"),
    ],
)
def test_a_bad_webhook_gets_a_clear_error(webhook, message):
    with pytest.raises(ValidationError) as info:
        parse(webhook)
    assert message in info.value.message
    assert "hunter2" not in info.value.message


def test_the_egress_allow_list_admits_one_local_receiver_and_no_other_port():
    settings = S.replace(egress_allow="127.0.0.1:8999")
    assert parse({"url": "http://127.0.0.1:8999/hook"}, settings).webhook is not None
    with pytest.raises(ValidationError, match="loopback"):
        parse({"url": "http://127.0.0.1:9000/hook"}, settings)
    with pytest.raises(ValidationError, match="BROWSING_EGRESS_DENY"):
        parse({"url": "https://evil.example/hook"}, S.replace(egress_deny="evil.example"))


def test_retries_back_off_exponentially_with_jitter_and_a_cap():
    settings = S.replace(webhook_retry_base_s=1.0, webhook_retry_max_s=60.0)
    deliverer = WebhookDeliverer(store=None, webhooks=None, settings=settings)  # type: ignore[arg-type]
    for attempts, full in [(1, 1), (2, 2), (3, 4), (6, 32), (7, 60), (50, 60)]:
        delays = [deliverer.backoff_s(attempts) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays), (attempts, delays)
        assert len(set(delays)) > 1  # jittered


def test_the_message_id_is_the_task_s_and_stable():
    assert message_id("web:" + "ab" * 16) == "msg_" + "ab" * 16


def test_the_client_and_the_cli_send_the_webhook():
    from browsing.cli import build_parser
    from browsing.client import task_request

    assert task_request("t", webhook_url="https://h.example/x") == {
        "task": "t",
        "webhook": {"url": "https://h.example/x"},
    }
    body = task_request("t", webhook_url="https://h.example/x", webhook_secret=SPEC_SECRET)
    assert body["webhook"] == {"url": "https://h.example/x", "secret": SPEC_SECRET}
    args = build_parser().parse_args(["run", "t", "--webhook", "https://h.example/x"])
    assert (args.webhook, args.webhook_secret) == ("https://h.example/x", None)
    assert build_parser().parse_args(["webhook-secret", "--rotate"]).rotate


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_try_s_timeout():
    """The socket timeout bounds each read; a receiver sending a byte every 0.2 s would
    otherwise hold the try (and a pool thread) for as long as it likes."""
    import socket
    import threading
    import time

    from scheduler.webhooks import post
    from shared.egress import EgressPolicy

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 200:
                if stop.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    policy = EgressPolicy.from_settings(S.replace(egress_allow=f"127.0.0.1:{port}"))
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError, match="no whole answer within 1 s"):
            post(f"http://127.0.0.1:{port}/", b"{}", {}, timeout_s=1.0, policy=policy)
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        server.close()
