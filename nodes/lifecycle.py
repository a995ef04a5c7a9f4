"""A node worker's life: registration, heartbeats, and Chromium per pool child.

``NodeLifecycle.install`` registers the browse task and connects the Celery signal
handlers; ``nodes/celery.py`` calls it when a worker starts. Importing this module
connects nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import tempfile
import threading
from importlib import metadata
from typing import Any

from billiard.exceptions import WorkerLostError
from celery import Celery, signals

from nodes import processes, scratch, task
from nodes.identity import derive_identity
from nodes.runtime import NodeRuntime
from shared.egress import EgressPolicy
from shared.metrics import mark_process_dead, serve_metrics
from shared.services import BROWSE_TASK

log = logging.getLogger(__name__)


def node_version() -> str:
    """The installed distribution's version, which the node registers with."""
    try:
        return metadata.version("browsing-service")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


class NodeLifecycle:
    def __init__(self, app: Celery, runtime: NodeRuntime) -> None:
        self.app = app
        self.runtime = runtime
        self.settings = runtime.settings
        self._heartbeat_stop = threading.Event()
        self._heartbeat_thread: threading.Thread | None = None
        self._presence_stop = threading.Event()  # each pool child's own copy, after the fork
        self._registration: dict[str, Any] = {}  # what register_node sent, to send again

    def install(self) -> None:
        """Register the browse task and connect the handlers, once per worker."""
        task.register(self.app, self.runtime)
        for signal, handler in (
            (signals.celeryd_after_setup, self.register_node),
            (signals.task_failure, self.attempt_process_lost),
            (signals.worker_ready, self.start_heartbeat),
            (signals.worker_shutting_down, self.stop_taking_tasks),
            (signals.worker_shutdown, self.deregister_node),
            (signals.worker_process_init, self.start_child),
            (signals.worker_process_shutdown, self.stop_child),
        ):
            signal.connect(handler, weak=False)

    def register_node(self, sender: str, instance: Any, **_: Any) -> None:
        runtime, settings = self.runtime, self.settings
        queues = instance.app.amqp.queues.consume_from.keys()
        # A malformed BROWSING_EGRESS_ALLOW/DENY stops the node here, not in every pool child.
        EgressPolicy.from_settings(settings)
        if settings.egress_policy == "off":
            log.warning("BROWSING_EGRESS_POLICY=off: this node's browser can reach any address")
        runtime.identity = derive_identity(queues, settings)
        # Before registering: what this uid still runs in Redis is a previous run's.
        processes.report_previous_incarnation(runtime.store, runtime.registry, runtime.identity.uid)
        self._registration.update(
            uid=runtime.identity.uid,
            country=runtime.identity.country,
            queue=runtime.identity.queue,
            capacity=int(instance.concurrency or 1),
            version=node_version(),
            hostname=socket.gethostname(),
        )
        runtime.registry.register(**self._registration, now_ms=runtime.store.now_ms())
        log.info("node registered: %s (%s)", runtime.identity.uid, runtime.identity.country)

    def _heartbeat_loop(self) -> None:
        runtime = self.runtime
        assert runtime.identity is not None
        uid = runtime.identity.uid
        while not self._heartbeat_stop.is_set():
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
                        **self._registration, now_ms=runtime.store.now_ms(), again=True
                    )
                    runtime.registry.heartbeat(uid, now_ms=runtime.store.now_ms())  # ready?
                    log.warning("node registration was gone from Redis; registered again")
            except Exception as exc:  # Redis away: keep trying, the scheduler judges liveness
                log.warning("heartbeat failed: %s", exc)
            self._heartbeat_stop.wait(self.settings.node_heartbeat_interval_s)

    def _browser_presence_loop(self, uid: str, pid: int) -> None:
        """In a pool child whose browser is up: say so again every heartbeat interval."""
        while not self._presence_stop.wait(self.settings.node_heartbeat_interval_s):
            try:
                self.runtime.registry.browser_still_up(uid, pid)
            except Exception as exc:
                log.debug("browser presence not written: %s", exc)

    def attempt_process_lost(
        self,
        sender: Any = None,
        exception: BaseException | None = None,
        args: Any = None,
        **_: Any,
    ) -> None:
        """In the main process: a pool process died with an attempt (Celery's
        WorkerLostError). Report it now rather than let it wait for its deadline."""
        runtime = self.runtime
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

    def start_heartbeat(self, **_: Any) -> None:
        processes.become_subreaper()
        self._heartbeat_thread = threading.Thread(
            target=self._heartbeat_loop, name="heartbeat", daemon=True
        )
        self._heartbeat_thread.start()
        if self.settings.metrics_port:
            serve_metrics(self.settings.metrics_port, self.settings.metrics_bind)

    def stop_taking_tasks(self, **_: Any) -> None:
        """A warm shutdown began: the pool finishes its attempts, and the scheduler binds
        nothing more here (a slot freed meanwhile would otherwise get a task this node
        never runs, moved elsewhere only at deregistration, using up its re-dispatch)."""
        if self.runtime.identity is None:
            return
        try:
            self.runtime.registry.mark_stopping(self.runtime.identity.uid)
        except Exception as exc:
            log.warning("could not mark the node stopping: %s", exc)

    def deregister_node(self, **_: Any) -> None:
        self._heartbeat_stop.set()
        if self._heartbeat_thread is not None:  # a heartbeat in flight must not land after this
            self._heartbeat_thread.join(timeout=10)
        metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        if metrics_dir.startswith(os.path.join(tempfile.gettempdir(), "browsing-node-metrics-")):
            shutil.rmtree(metrics_dir, ignore_errors=True)  # ours, made at start
        runtime = self.runtime
        if runtime.identity is None:
            return
        try:
            runtime.registry.deregister(runtime.identity.uid)
        except Exception as exc:
            log.warning("deregistration failed: %s", exc)

    def start_child(self, **_: Any) -> None:
        runtime = self.runtime
        # Playwright must start after the fork (playwright-python#937).
        runtime.reset_clients()
        runtime.cancels.start()  # subscribe before the first attempt can be cancelled
        # What killed pool processes left; then this one's files, the Playwright driver's
        # and Chromium's included (they follow TMPDIR), go in a tree of its own.
        scratch.sweep_gone()
        os.environ["TMPDIR"] = str(scratch.scratch_dir())
        runtime.start_browser()
        runtime.prewarm()
        if runtime.identity is not None:
            runtime.registry.browser_up(runtime.identity.uid, os.getpid())
            presence = (runtime.identity.uid, os.getpid())
            threading.Thread(
                target=self._browser_presence_loop,
                args=presence,
                name="browser-presence",
                daemon=True,
            ).start()
        log.info("child %s: chromium ready", os.getpid())

    def stop_child(self, **_: Any) -> None:
        runtime = self.runtime
        self._presence_stop.set()
        runtime.stop_browser()
        scratch.remove_own()
        mark_process_dead(os.getpid())
        if runtime.identity is not None:
            with contextlib.suppress(Exception):  # Redis may be gone at shutdown
                runtime.registry.browser_down(runtime.identity.uid, os.getpid())
