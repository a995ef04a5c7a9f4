"""The scheduler's Celery app, which ``celery -A scheduler worker -Q scheduler --pool
solo`` finds here (Celery falls back to ``<package>.celery``).

Run it with the solo pool: each message is a batch that takes milliseconds, so the
consumer runs it itself. With the threads pool and early acks without prefetch
(shared/services.py), a pool whose threads were all busy left kombu's loop without a
BRPOP until some timer woke it: in a burst the scheduler placed tasks 2.4 times slower,
and with two threads it nearly stopped.

Building the app reads the settings and nothing more; the clients, the dispatch task
and the maintenance loop are built when a worker starts (``celeryd_init``), see
``scheduler/lifecycle.py``.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from shared.config import load_settings
from shared.services import celery_app

settings = load_settings()
app = celery_app("scheduler", settings)
# No ack emulation on the scheduler's own queue: kombu's emulation costs two Redis round
# trips per message, and a dispatch message lost between delivery and its early ack (the
# scheduler killed in that instant) is redone by the maintenance loop, which dispatches
# tasks left queued. Node queues keep it.
app.conf.broker_transport_options = {**app.conf.broker_transport_options, "ack_emulation": False}


@signals.celeryd_init.connect
def _start_worker(instance: Any, **_: Any) -> None:
    if instance.app is not app:
        return
    from scheduler.lifecycle import SchedulerLifecycle

    app.scheduler = SchedulerLifecycle.build(app, settings)  # type: ignore[attr-defined]
    app.scheduler.install()  # type: ignore[attr-defined]
