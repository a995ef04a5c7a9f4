"""The gateway's clients, built once per process from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from celery import Celery

from gateway.batching import GroupCommit
from gateway.waiters import CompletionListener
from shared.apikeys import KeyStore
from shared.clock import Clock, system_clock
from shared.config import Settings
from shared.records import NewTask, TaskStore
from shared.services import DISPATCH_MANY_TASK, SCHEDULER_QUEUE, celery_app, redis_client
from shared.storage import ScreenshotStorage


@dataclass
class GatewayServices:
    settings: Settings
    store: TaskStore
    keys: KeyStore
    storage: ScreenshotStorage
    listener: CompletionListener
    celery: Celery
    records: GroupCommit[NewTask] = field(init=False, repr=False)
    dispatches: GroupCommit[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.records = GroupCommit(self.store.create_many, name="task records")
        self.dispatches = GroupCommit(self._publish, name="dispatch messages")

    @classmethod
    def build(cls, settings: Settings, clock: Clock = system_clock) -> GatewayServices:
        client = redis_client(settings)
        celery = celery_app("gateway", settings)
        # Fail fast when the broker is down: the request answers 503 instead of hanging.
        celery.conf.task_publish_retry_policy = {
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        }
        return cls(
            settings=settings,
            store=TaskStore(client, record_ttl_s=settings.task_record_ttl_s, clock=clock),
            keys=KeyStore(client, settings.api_keys),
            storage=ScreenshotStorage(settings),
            listener=CompletionListener(client),
            celery=celery,
        )

    def create_task(self, task: NewTask) -> None:
        """Returns once the task's record is in Redis."""
        self.records.commit(task)

    def enqueue_dispatch(self, task_id: str) -> None:
        """Returns once the scheduler's message for ``task_id`` is in the broker."""
        self.dispatches.commit(task_id)

    def _publish(self, task_ids: list[str]) -> None:
        self.celery.send_task(
            DISPATCH_MANY_TASK, args=[task_ids], queue=SCHEDULER_QUEUE, ignore_result=True
        )
