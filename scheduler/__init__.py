"""The scheduler: a Celery worker on the "scheduler" queue plus a maintenance loop.

Run it with ``celery -A scheduler worker -Q scheduler --pool solo``: each message is a
batch that takes milliseconds, so the consumer runs it itself. With the threads pool and
early acks without prefetch (shared/services.py), a pool whose threads were all busy left
kombu's loop without a BRPOP until some timer woke it: in a burst the scheduler placed
tasks 2.4 times slower, and with two threads it nearly stopped.
"""

from __future__ import annotations

from celery import signals

from scheduler import metrics
from scheduler.dispatch import Dispatcher
from scheduler.maintenance import Maintenance
from shared.config import load_settings
from shared.metrics import serve_metrics
from shared.records import TaskStore
from shared.registry import NodeRegistry
from shared.services import DISPATCH_MANY_TASK, DISPATCH_TASK, celery_app, redis_client
from shared.storage import ScreenshotStorage

settings = load_settings()
app = celery_app("scheduler", settings)
# No ack emulation on the scheduler's own queue: kombu's emulation costs two Redis round
# trips per message, and a dispatch message lost between delivery and its early ack (the
# scheduler killed in that instant) is redone by the maintenance loop, which dispatches
# tasks left queued. Node queues keep it.
app.conf.broker_transport_options = {**app.conf.broker_transport_options, "ack_emulation": False}
_redis = redis_client(settings)
dispatcher = Dispatcher(
    app=app,
    store=TaskStore(_redis, record_ttl_s=settings.task_record_ttl_s),
    registry=NodeRegistry(_redis),
    settings=settings,
)
maintenance = Maintenance(
    dispatcher=dispatcher,
    interval_s=settings.maintenance_interval_s,
    storage=ScreenshotStorage(settings),
)


@app.task(name=DISPATCH_MANY_TASK, ignore_result=True)
def dispatch_many(task_ids: list[str]) -> None:
    """The gateway batches the tasks submitted while its previous message was in flight."""
    dispatcher.dispatch_many(task_ids)


@app.task(name=DISPATCH_TASK, ignore_result=True)
def dispatch(task_id: str) -> None:
    dispatcher.dispatch_many([task_id])


@signals.worker_ready.connect
def _start_maintenance(**_: object) -> None:
    maintenance.start()
    if settings.metrics_port:
        from prometheus_client import REGISTRY

        REGISTRY.register(
            metrics.ClusterCollector(
                client=_redis,
                registry=dispatcher.registry,
                is_leader=maintenance.is_leader,
                now_ms=dispatcher.store.now_ms,
                dead_after_ms=int(settings.node_dead_after_s * 1000),
            )
        )
        serve_metrics(settings.metrics_port, settings.metrics_bind)


@signals.worker_shutdown.connect
def _stop_maintenance(**_: object) -> None:
    maintenance.stop()
