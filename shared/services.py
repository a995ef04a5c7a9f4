"""Clients for the backing services, built from Settings."""

from __future__ import annotations

import redis
from celery import Celery, signals

from shared.config import Settings

SCHEDULER_QUEUE = "scheduler"
DISPATCH_TASK = "scheduler.dispatch"  # one task id (what earlier gateways sent)
DISPATCH_MANY_TASK = "scheduler.dispatch_many"  # a batch of task ids
BROWSE_TASK = "nodes.browse"


def publish_options() -> dict:
    """Options for every message we publish, new for each (kombu may append to the
    ``declare`` list it is given). ``declare=[]``: Celery otherwise declares the queue
    again on every send (kombu copies the queue and exchange objects each time: a fifth of
    a publish's CPU). Not needed on Redis: direct queues are published through the
    anonymous exchange, straight onto the queue's list, and each worker declares the
    queue it consumes. ``kwargsrepr``: what logs show, without Celery's saferepr."""
    return {"ignore_result": True, "kwargsrepr": "{}", "declare": []}


def redis_client(settings: Settings) -> redis.Redis:
    """A client whose pool waits for a free connection instead of failing: redis-py 8
    caps a plain pool at 100 connections and raises at the 101st, which a gevent gateway
    with hundreds of requests in flight reaches in a burst."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=20,  # seconds to wait for a free connection before answering 503
        decode_responses=True,
        # Bounded calls (ARCHITECTURE.md, invariant 11): a Redis that hangs instead of
        # refusing (a partition, a frozen host) costs a request about 9 s before its 503,
        # one retry included, not minutes. None of our commands block; pub/sub reads
        # wait without this timeout.
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
        retry_on_timeout=True,
    )
    return redis.Redis(connection_pool=pool)


def _setup_logging(loglevel: str | int | None = None, **_: object) -> None:
    # Connected to Celery's setup_logging: Celery then leaves logging to us.
    from shared import logs

    logs.configure(loglevel or "INFO")


def celery_app(name: str, settings: Settings) -> Celery:
    """A Celery app with the settings our design depends on (see ARCHITECTURE.md)."""
    signals.setup_logging.connect(_setup_logging, weak=False, dispatch_uid="browsing-logs")
    app = Celery(name, broker=settings.redis_url)
    app.conf.update(
        broker_transport="shared.kombu_redis:Transport",
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        # Early acks and no prefetch: a 3 h task must not be redelivered after the Redis
        # visibility timeout. Lost work is recovered by our liveness and fencing instead.
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,
        task_create_missing_queues=True,
        task_default_queue=SCHEDULER_QUEUE,
        broker_connection_retry_on_startup=True,
        # kombu's Redis transport allows 10 connections per channel by default; a gevent
        # gateway publishing for hundreds of requests at once needs more.
        broker_transport_options={"visibility_timeout": 4 * 3600, "max_connections": 1000},
        broker_pool_limit=100,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app
