"""A scheduler worker's parts, built when the worker starts: the dispatch task, the
maintenance loop and the cluster metrics. Importing this module builds nothing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from celery import Celery, signals

from scheduler import metrics
from scheduler.dispatch import Dispatcher, SlotListener
from scheduler.maintenance import Maintenance
from scheduler.webhooks import WebhookDeliverer
from shared.config import Settings
from shared.metrics import serve_metrics
from shared.records import TaskStore
from shared.registry import NodeRegistry
from shared.services import DISPATCH_MANY_TASK, redis_client
from shared.storage import ScreenshotStorage
from shared.webhooks import WebhookStore


@dataclass
class SchedulerLifecycle:
    app: Celery
    settings: Settings
    dispatcher: Dispatcher
    maintenance: Maintenance
    slots: SlotListener
    webhooks: WebhookDeliverer | None = None

    @classmethod
    def build(cls, app: Celery, settings: Settings) -> SchedulerLifecycle:
        client = redis_client(settings)
        store = TaskStore(client, record_ttl_s=settings.task_record_ttl_s)
        registry = NodeRegistry(client)
        dispatcher = Dispatcher(app=app, store=store, registry=registry, settings=settings)
        maintenance = Maintenance(
            store=store,
            registry=registry,
            settings=settings,
            dispatcher=dispatcher,
            interval_s=settings.maintenance_interval_s,
            storage=ScreenshotStorage(settings),
        )
        return cls(
            app=app,
            settings=settings,
            dispatcher=dispatcher,
            maintenance=maintenance,
            slots=SlotListener(dispatcher),
            webhooks=WebhookDeliverer(
                store=store,
                webhooks=WebhookStore(client, state_ttl_s=settings.task_record_ttl_s),
                settings=settings,
            ),
        )

    def install(self) -> None:
        """Register the dispatch task and connect the handlers, once per worker."""
        dispatcher = self.dispatcher

        @self.app.task(name=DISPATCH_MANY_TASK, ignore_result=True)
        def dispatch_many(task_ids: list[str]) -> None:
            """The gateway batches the tasks submitted while its previous message was in
            flight."""
            dispatcher.dispatch_many(task_ids)

        signals.worker_ready.connect(self.start, weak=False)
        signals.worker_shutdown.connect(self.stop, weak=False)

    def start(self, **_: Any) -> None:
        self.maintenance.start()
        self.slots.start()
        if self.webhooks is not None:
            self.webhooks.start()
        settings = self.settings
        if settings.metrics_port:
            from prometheus_client import REGISTRY

            REGISTRY.register(
                metrics.ClusterCollector(
                    store=self.dispatcher.store,
                    registry=self.dispatcher.registry,
                    is_leader=self.maintenance.is_leader,
                    dead_after_ms=int(settings.node_dead_after_s * 1000),
                )
            )
            serve_metrics(settings.metrics_port, settings.metrics_bind)

    def stop(self, **_: Any) -> None:
        self.maintenance.stop()
        self.slots.stop()
        if self.webhooks is not None:
            self.webhooks.stop()
