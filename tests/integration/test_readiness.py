"""/readyz on the gateway's app (create_app) with a Redis that hangs: a server that
takes connections and never answers, as a frozen or partitioned Redis does."""

from __future__ import annotations

import socket
import time


def test_readyz_answers_within_its_timeout_when_redis_hangs(gateway_env):
    from gateway import create_app
    from shared.config import load_settings

    with socket.socket() as hung:  # the kernel completes connections to its backlog
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        env = {
            **gateway_env,
            "BROWSING_REDIS_URL": f"redis://127.0.0.1:{hung.getsockname()[1]}/0",
            "BROWSING_READINESS_TIMEOUT_S": "1",
        }
        client = create_app(load_settings(env)).test_client()
        started = time.monotonic()
        resp = client.get("/readyz")
        took = time.monotonic() - started
    assert resp.status_code == 503, resp.get_data(as_text=True)
    assert resp.get_json() == {
        "error": "not ready: redis unavailable",
        "checks": {"redis": "unavailable", "s3": "ok"},
    }
    # Before, the service's own client waited 5 s and retried once: 10 s, past any probe.
    assert took < 2.5, f"/readyz took {took:.1f} s"
