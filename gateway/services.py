"""The gateway's clients, built once per process from Settings."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from celery import Celery

from gateway.batching import GroupCommit
from gateway.waiters import CompletionListener
from shared.apikeys import KeyStore
from shared.clock import Clock, system_clock
from shared.config import Settings
from shared.errors import BackendUnavailable
from shared.records import NewTask, Refusal, Replay, TaskStore
from shared.registry import NodeRegistry
from shared.services import (
    DISPATCH_MANY_TASK,
    SCHEDULER_QUEUE,
    celery_app,
    publish_options,
    redis_client,
)
from shared.storage import ScreenshotStorage
from shared.tasklist import TaskList
from shared.users import UserPolicies
from shared.webhooks import WebhookStore

log = logging.getLogger(__name__)


@dataclass
class GatewayServices:
    settings: Settings
    store: TaskStore
    keys: KeyStore
    storage: ScreenshotStorage
    listener: CompletionListener
    celery: Celery
    policies: UserPolicies
    webhooks: WebhookStore | None = None
    submissions: GroupCommit[NewTask] = field(init=False, repr=False)
    task_list: TaskList = field(init=False, repr=False)  # GET /tasks
    registry: NodeRegistry = field(init=False, repr=False)  # the admin API (gateway/admin.py)

    def __post_init__(self) -> None:
        self.submissions = GroupCommit(self._submit_batch, name="task submissions", timeout_s=30.0)
        self.task_list = TaskList(self.store.redis)
        self.registry = NodeRegistry(self.store.redis)

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
        store = TaskStore(
            client,
            record_ttl_s=settings.task_record_ttl_s,
            clock=clock,
            idempotency_ttl_s=settings.idempotency_ttl_s,
            task_list_max=settings.task_list_max,
        )
        return cls(
            settings=settings,
            store=store,
            keys=KeyStore(client, settings.api_keys, settings.admin_users),
            storage=ScreenshotStorage(settings),
            listener=CompletionListener(store),
            celery=celery,
            policies=UserPolicies(client, settings),
            webhooks=WebhookStore(client, state_ttl_s=settings.task_record_ttl_s),
        )

    def submit(self, task: NewTask) -> Refusal | Replay | None:
        """Returns once the task's record is in Redis and the scheduler's message for it
        is in the broker, or with why the owner's limits refused it (nothing stored), or
        the task its idempotency key already made (nothing stored); raises what stopped
        either (TimeoutError after 30 s)."""
        return self.submissions.commit(task)

    def _submit_batch(self, tasks: list[NewTask]) -> list[Refusal | Replay | None]:
        """The records first, in one script call, then one message for them all, which
        tells the scheduler to bind waiting tasks (and to fail at once those no live
        node matches).

        kombu already retries broker connection errors; anything else a publish raises
        gets two more tries before the tasks are failed, so none is left waiting for a
        broker that is down. (A message lost after it was sent costs nothing: the
        scheduler binds on every freed slot and maintenance pass, not only on this.)"""
        refusals = self.store.create_many(tasks)
        task_ids = [task.task_id for task, no in zip(tasks, refusals, strict=True) if not no]
        if not task_ids:
            return refusals
        for attempt in range(3):
            try:
                self.celery.send_task(
                    DISPATCH_MANY_TASK,
                    args=[task_ids],
                    queue=SCHEDULER_QUEUE,
                    # What logs show of the arguments; Celery's own repr of the id list
                    # cost more than the rest of the publish.
                    argsrepr=f"[{len(task_ids)} task ids]",
                    **publish_options(),
                )
                return refusals
            except Exception as exc:
                log.warning("could not enqueue %d tasks (try %d): %r", len(tasks), attempt + 1, exc)
                error = exc
                time.sleep(0.1 * (attempt + 1))
        try:
            error_text = "could not be queued: the broker is unavailable"
            self.store.fail_many([(task_id, error_text) for task_id in task_ids])
            # A retry with the same Idempotency-Key should create the task, not answer
            # this failure for a day.
            self.store.forget_idempotency_keys(
                [task for task, no in zip(tasks, refusals, strict=True) if not no]
            )
        except Exception as exc:  # Redis too: the maintenance loop binds them later
            log.warning("could not fail %d unqueued tasks: %r", len(tasks), exc)
        raise BackendUnavailable("the task queue is unavailable; try again shortly") from error
