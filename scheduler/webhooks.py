"""The webhook deliverer: a thread of each scheduler process that POSTs finished tasks'
status to their webhooks, from the outbox in Redis (shared/webhooks.py).

It wakes at once when a task with a webhook finishes (``keys.WEBHOOK_CHANNEL``) and
looks at the outbox every ``webhook_poll_interval_s`` besides, for retries that fall
due and for entries a killed scheduler leased. Tries run on a pool of
``webhook_concurrency`` threads, each bounded by ``webhook_timeout_s``.

A try's outcome: 2xx delivered; 410 Gone stops the retries; anything else (another
status, a refused or reset connection, a timeout) is retried after
``webhook_retry_base_s`` doubling each time up to ``webhook_retry_max_s``, with jitter,
until ``webhook_retry_for_s`` after the task finished. Every try of a delivery carries
the same ``webhook-id`` and the same body; each has its own timestamp and signature.

The URL obeys the egress policy of the nodes' browsers, checked on the address connected
to: the host is resolved once, every address is checked, and the connection goes to a
checked address (a name re-resolved to a private address in between, DNS rebinding,
cannot get past it). A refused destination ends the delivery ('refused').
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import redis

from gateway.views import status_body
from scheduler import metrics
from scheduler.dispatch import follow_channel
from shared.clock import iso_utc
from shared.config import Settings
from shared.egress import DEFAULT_PORTS, EgressPolicy, system_resolver
from shared.errors import EgressRefused
from shared.records import TaskRecord, TaskStatus, TaskStore
from shared.webhooks import Lease, WebhookStore, sign_headers

log = logging.getLogger(__name__)
USER_AGENT = "browsing-service-webhooks/1"
MAX_RESPONSE_BYTES = 64 * 1024  # read (and ignored) of a receiver's answer


def message_id(task_id: str) -> str:
    """The ``webhook-id`` of a task's final event: the same on every try."""
    return "msg_" + task_id.removeprefix("web:")


def event_body(record: TaskRecord) -> bytes:
    """The Standard Webhooks payload: type, timestamp (the task's finish) and, as
    ``data``, the task's final status body as GET /status shows it."""
    event = "task.completed" if record.status is TaskStatus.COMPLETED else "task.failed"
    body = {
        "type": event,
        "timestamp": iso_utc(record.finished_ms or record.created_ms),
        "data": status_body(record),
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    policy: EgressPolicy,
) -> int:
    """POST ``body`` to ``url`` through an address the egress policy allows; returns the
    HTTP status. Raises EgressRefused, or OSError / HTTPException when no answer came
    within ``timeout_s``. Redirects are not followed (a 3xx is a failed try)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[scheme]
    deadline = time.monotonic() + timeout_s
    addresses = policy.resolve(host, port, resolver=bounded_resolver(timeout_s))
    sock: socket.socket | None = None
    error: OSError = TimeoutError(f"could not connect within {timeout_s:g} s")
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            sock = socket.create_connection((address, port), timeout=remaining)
            break
        except OSError as exc:
            error = exc
    if sock is None:
        raise error
    # The socket timeout bounds each read, not the answer: a receiver sending a byte at a
    # time would hold the try (and its pool thread) for hours. At the deadline the socket
    # is shut down, which ends whatever read or write is under way.
    raw, expired = sock, threading.Event()

    def expire() -> None:
        expired.set()
        with contextlib.suppress(OSError):
            raw.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
    timer.daemon = True
    timer.start()
    conn: http.client.HTTPConnection
    try:
        if scheme == "https":
            context = ssl.create_default_context()
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            sock = context.wrap_socket(sock, server_hostname=host)
            conn = http.client.HTTPSConnection(host, port, timeout=timeout_s, context=context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
        conn.sock = sock  # connected to the checked address; Host and SNI name the host
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        conn.request("POST", path, body=body, headers=headers)
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        if expired.is_set():
            raise TimeoutError(f"no whole answer within {timeout_s:g} s")
        return response.status
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise TimeoutError(f"no whole answer within {timeout_s:g} s") from exc
        raise
    finally:
        timer.cancel()
        sock.close()


REFUSED = (
    "egress refused: the host resolves to an address the egress policy does not allow "
    "(BROWSING_EGRESS_ALLOW / BROWSING_EGRESS_DENY)"
)


def bounded_resolver(timeout_s: float) -> Callable[[str, int], list[str]]:
    """The system resolver, given up on after ``timeout_s`` (getaddrinfo itself takes
    no timeout: a hung DNS server would hold the try for the resolver's own retries)."""

    def resolve(host: str, port: int) -> list[str]:
        answer: list[list[str]] = []
        done = threading.Event()

        def lookup() -> None:
            try:
                answer.append(system_resolver(host, port))
            except (OSError, UnicodeError):
                pass
            finally:
                done.set()

        threading.Thread(target=lookup, name="webhook-dns", daemon=True).start()
        if not done.wait(timeout_s):
            raise TimeoutError(f"resolving {host} took over {timeout_s:g} s")
        if not answer:
            raise socket.gaierror(f"{host} does not resolve")
        return answer[0]

    return resolve


def describe(exc: BaseException) -> str:
    """A try's failure in a few words (no URL: it is shown apart)."""
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return "the host name does not resolve"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error: {exc.reason or exc}"
    return f"{type(exc).__name__}: {exc}"[:200]


class WebhookDeliverer:
    """Delivers webhooks from the outbox; one per scheduler process, any number of
    processes (the outbox's leases keep them from sending one delivery at once)."""

    def __init__(self, *, store: TaskStore, webhooks: WebhookStore, settings: Settings) -> None:
        self.store = store
        self.webhooks = webhooks
        self.settings = settings
        self.policy = EgressPolicy.from_settings(settings)
        self.concurrency = settings.webhook_concurrency
        # A try outlives its lease only if it hangs past its own timeout several times.
        self.lease_ms = int(settings.webhook_timeout_s * 3000) + 5000
        self._inflight = 0
        self._lock = threading.Lock()
        self._freed = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook")
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._freed.set()
        if self._pool is not None:
            # Tries under way finish (each is bounded); an unreported one is taken
            # again by a scheduler once its lease runs out.
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        follow_channel(
            self.webhooks.wakeups,
            self._follow,
            self._stop,
            lost="webhook outbox unavailable, trying again: %s",
            failed="webhook deliverer pass failed",
        )

    def _follow(self, pubsub: redis.client.PubSub) -> None:
        while not self._stop.is_set():
            wait_s = self.deliver_due()
            if wait_s <= 0:
                continue
            if self.free_slots() <= 0:
                self._freed.wait(wait_s)  # a try ends: room for the next
                self._freed.clear()
                continue
            if pubsub.get_message(timeout=wait_s) is not None:
                while pubsub.get_message(timeout=0) is not None:
                    pass  # one pass takes every entry due so far

    def free_slots(self) -> int:
        with self._lock:
            return self.concurrency - self._inflight

    def deliver_due(self) -> float:
        """Start a try of every due entry there is room for; returns how long to wait
        before looking again (0: more are due)."""
        poll_s = self.settings.webhook_poll_interval_s
        free = self.free_slots()
        if free <= 0:
            return poll_s
        now_ms = self.store.now_ms()
        leases, next_due_ms = self.webhooks.take_due(now_ms, lease_ms=self.lease_ms, limit=free)
        for lease in leases:
            with self._lock:
                self._inflight += 1
            assert self._pool is not None
            self._pool.submit(self._try_one, lease)
        if len(leases) == free:
            return 0.0 if free else poll_s
        if next_due_ms is None:
            return poll_s
        return min(poll_s, max(next_due_ms - now_ms, 0) / 1000) or 0.001

    def _try_one(self, lease: Lease) -> None:
        try:
            self.deliver(lease)
        except Exception:
            log.exception("webhook try failed", extra={"task_id": lease.task_id})
        finally:
            with self._lock:
                self._inflight -= 1
            self._freed.set()

    def deliver(self, lease: Lease) -> str:
        """One try of one delivery, reported to the outbox; returns its outcome."""
        record = self.store.get(lease.task_id)
        if record is None or record.request.webhook is None:
            self.webhooks.report(
                lease,
                outcome="expired",
                now_ms=self.store.now_ms(),
                error="the task record has expired",
            )
            return self._count("expired", lease, None, "record expired")
        hook = record.request.webhook
        body = self.webhooks.freeze_body(lease.task_id, event_body(record))
        now_ms = self.store.now_ms()
        if hook.secret is not None:
            keys_ = [hook.secret]
        else:
            keys_ = self.webhooks.user_signing_secrets(record.owner, now_ms)
        headers = sign_headers(keys_, message_id(lease.task_id), now_ms // 1000, body)
        headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT})
        status: int | None = None
        error = ""
        try:
            status = post(
                hook.url,
                body,
                headers,
                timeout_s=self.settings.webhook_timeout_s,
                policy=self.policy,
            )
        except EgressRefused as exc:
            done_ms = self.store.now_ms()
            # The status shows no address: a user could map internal names with it.
            # The operator's log has the detail.
            self.webhooks.report(lease, outcome="refused", now_ms=done_ms, error=REFUSED)
            return self._count("refused", lease, None, exc.message)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = describe(exc)
        done_ms = self.store.now_ms()
        if status is not None and 200 <= status < 300:
            outcome = "delivered"
            finished_ms = record.finished_ms or lease.due_ms
            metrics.WEBHOOK_LATENCY.observe(max(done_ms - finished_ms, 0) / 1000)
            self.webhooks.report(lease, outcome=outcome, now_ms=done_ms, status=status)
        elif status == 410:
            outcome = "stopped"
            self.webhooks.report(lease, outcome=outcome, now_ms=done_ms, status=status)
        else:
            if status is not None:
                error = f"the receiver answered HTTP {status}"
            next_ms = done_ms + int(self.backoff_s(lease.attempts + 1) * 1000)
            give_up_ms = lease.due_ms + int(self.settings.webhook_retry_for_s * 1000)
            outcome = "gave_up" if next_ms > give_up_ms else "retry"
            self.webhooks.report(
                lease,
                outcome=outcome,
                now_ms=done_ms,
                status=status,
                error=error,
                next_try_ms=next_ms,
            )
        return self._count(outcome, lease, status, error)

    def backoff_s(self, attempts: int) -> float:
        """The delay after the ``attempts``-th failed try: the base doubled each time,
        capped, and jittered into its upper half, so that receivers coming back are not
        hit by every retry at once."""
        base = self.settings.webhook_retry_base_s
        delay = min(self.settings.webhook_retry_max_s, base * 2 ** min(attempts - 1, 40))
        return delay / 2 + random.uniform(0, delay / 2)

    @staticmethod
    def _count(outcome: str, lease: Lease, status: int | None, error: str) -> str:
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        level = logging.INFO if outcome in ("delivered", "retry") else logging.WARNING
        log.log(
            level,
            "webhook %s",
            outcome,
            extra={
                "task_id": lease.task_id,
                "webhook_try": lease.attempts + 1,
                "http_status": status,
                "webhook_error": error or None,
            },
        )
        return outcome
