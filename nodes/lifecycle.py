"""Celery signal handlers: registration, heartbeats, and Chromium per pool child."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import signals

from nodes import app, processes, settings
from nodes.identity import derive_identity
from nodes.runtime import NodeRuntime
from shared.egress import EgressPolicy
from shared.metrics import mark_process_dead, serve_metrics
from shared.services import BROWSE_TASK

log = logging.getLogger(__name__)
VERSION = "0.1.0"

runtime = NodeRuntime(settings=settings)
_heartbeat_stop = threading.Event()
_heartbeat_thread: threading.Thread | None = None
_presence_stop = threading.Event()  # each pool child's own copy, after the fork


_registration: dict[str, Any] = {}  # what register_node sent, to send again


@signals.celeryd_after_setup.connect
def register_node(sender: str, instance: Any, **_: Any) -> None:
    queues = instance.app.amqp.queues.consume_from.keys()
    # A malformed BROWSING_EGRESS_ALLOW/DENY stops the node here, not in every pool child.
    EgressPolicy.from_settings(settings)
    if settings.egress_policy == "off":
        log.warning("BROWSING_EGRESS_POLICY=off: this node's browser can reach any address")
    runtime.identity = derive_identity(queues, settings)
    # Before registering: what this uid still runs in Redis is a previous run's.
    processes.report_previous_incarnation(runtime.store, runtime.registry, runtime.identity.uid)
    _registration.update(
        uid=runtime.identity.uid,
        country=runtime.identity.country,
        queue=runtime.identity.queue,
        capacity=int(instance.concurrency or 1),
        version=VERSION,
        hostname=socket.gethostname(),
    )
    runtime.registry.register(**_registration, now_ms=runtime.store.now_ms())
    log.info("node registered: %s (%s)", runtime.identity.uid, runtime.identity.country)


def _heartbeat_loop() -> None:
    assert runtime.identity is not None
    uid = runtime.identity.uid
    while not _heartbeat_stop.is_set():
        try:
            processes.reap_orphans()
            processes.prune_browsers(runtime.registry, uid)
        except Exception:  # never let housekeeping stop the heartbeat
            log.warning("could not check the node's processes", exc_info=True)
        try:
            if not runtime.registry.heartbeat(uid, now_ms=runtime.store.now_ms()):
                # Redis came back without its data: without this, the node would stay
                # invisible to the scheduler until someone restarted it. It is ready
                # again once its processes have said their browsers are up.
                runtime.registry.register(
                    **_registration, now_ms=runtime.store.now_ms(), again=True
                )
                runtime.registry.heartbeat(uid, now_ms=runtime.store.now_ms())  # ready?
                log.warning("node registration was gone from Redis; registered again")
        except Exception as exc:  # Redis away: keep trying, the scheduler judges liveness
            log.warning("heartbeat failed: %s", exc)
        _heartbeat_stop.wait(settings.node_heartbeat_interval_s)


def _browser_presence_loop(uid: str, pid: int) -> None:
    """In a pool child whose browser is up: say so again every heartbeat interval."""
    while not _presence_stop.wait(settings.node_heartbeat_interval_s):
        try:
            runtime.registry.browser_still_up(uid, pid)
        except Exception as exc:
            log.debug("browser presence not written: %s", exc)


@signals.task_failure.connect
def attempt_process_lost(
    sender: Any = None, exception: BaseException | None = None, args: Any = None, **_: Any
) -> None:
    """In the main process: a pool process died with an attempt (Celery's WorkerLostError).
    Report it now rather than let it wait for its deadline."""
    if not isinstance(exception, WorkerLostError) or runtime.identity is None:
        return
    if getattr(sender, "name", None) != BROWSE_TASK or not args or len(args) < 2:
        return
    try:
        processes.report_lost(
            runtime.store,
            str(args[0]),
            int(args[1]),
            runtime.identity.uid,
            processes.lost_error(exception),
        )
        processes.reap_orphans()
    except Exception:
        log.exception("could not report an attempt lost with its worker process")


@signals.worker_ready.connect
def start_heartbeat(**_: Any) -> None:
    global _heartbeat_thread
    processes.become_subreaper()
    _heartbeat_thread = threading.Thread(target=_heartbeat_loop, name="heartbeat", daemon=True)
    _heartbeat_thread.start()
    if settings.metrics_port:
        serve_metrics(settings.metrics_port, settings.metrics_bind)


@signals.worker_shutdown.connect
def deregister_node(**_: Any) -> None:
    _heartbeat_stop.set()
    if _heartbeat_thread is not None:  # a heartbeat in flight must not land after this
        _heartbeat_thread.join(timeout=10)
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if metrics_dir.startswith(os.path.join(tempfile.gettempdir(), "browsing-node-metrics-")):
        shutil.rmtree(metrics_dir, ignore_errors=True)  # ours, made at start
    if runtime.identity is None:
        return
    try:
        runtime.registry.deregister(runtime.identity.uid)
    except Exception as exc:
        log.warning("deregistration failed: %s", exc)


@signals.worker_process_init.connect
def start_child(**_: Any) -> None:
    # Playwright must start after the fork (playwright-python#937).
    runtime.reset_clients()
    runtime.cancels.start()  # subscribe before the first attempt can be cancelled
    runtime.start_browser()
    runtime.prewarm()
    if runtime.identity is not None:
        runtime.registry.browser_up(runtime.identity.uid, os.getpid())
        presence = (runtime.identity.uid, os.getpid())
        threading.Thread(
            target=_browser_presence_loop, args=presence, name="browser-presence", daemon=True
        ).start()
    log.info("child %s: chromium ready", os.getpid())


@signals.worker_process_shutdown.connect
def stop_child(**_: Any) -> None:
    _presence_stop.set()
    runtime.stop_browser()
    mark_process_dead(os.getpid())
    if runtime.identity is not None:
        with contextlib.suppress(Exception):  # Redis may be gone at shutdown
            runtime.registry.browser_down(runtime.identity.uid, os.getpid())


__all__ = ["app", "runtime"]
