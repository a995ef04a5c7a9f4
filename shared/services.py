"""Clients for the backing services, built from Settings.

With ``BROWSING_REDIS_SENTINELS`` set, every Redis client built here (the task store's
and the Celery broker's) asks the sentinels for the current master and follows a
failover (docs/redis-ha.md); ``redis_url`` then gives only the master's credentials,
database and TLS, not its address.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlsplit

import redis
from celery import Celery, signals
from redis.sentinel import Sentinel, SentinelConnectionPool

from shared.config import Settings
from shared.errors import ConfigError

SCHEDULER_QUEUE = "scheduler"
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


# Every connection to Redis: bounded connect and read, and a retry after a timeout.
# Bounded calls (ARCHITECTURE.md, invariant 11): a Redis that hangs instead of refusing
# (a partition, a frozen host) costs a request about 9 s before its 503, one retry
# included, not minutes. None of our commands block; pub/sub reads wait without this
# timeout (redis-py reads a subscription without the socket timeout).
_CONNECTION = {
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
    "health_check_interval": 30,
    "retry_on_timeout": True,
}
# Connections to the sentinels: they answer at once or are down.
SENTINEL_TIMEOUT_S = 2


class SentinelBlockingConnectionPool(SentinelConnectionPool, redis.BlockingConnectionPool):
    """redis-py's Sentinel pool (connects to whichever server the sentinels name master,
    and drops idle connections to a former one), waiting for a free connection as
    ``redis_client``'s plain pool does. redis-py has no such class of its own."""


def redis_client(settings: Settings, *, probe_timeout_s: float | None = None) -> redis.Redis:
    """A client whose pool waits for a free connection instead of failing: redis-py 8
    caps a plain pool at 100 connections and raises at the 101st, which a gevent gateway
    with hundreds of requests in flight reaches in a burst.

    ``probe_timeout_s``: a small client for a health probe instead, whose every call
    gives up after that long, without a retry (a readiness probe must answer before the
    orchestrator's own timeout, about a second)."""
    limits: dict[str, Any] = {
        "max_connections": settings.redis_max_connections,
        "timeout": 20,  # seconds to wait for a free connection before answering 503
    }
    if probe_timeout_s is not None:
        limits = {"max_connections": 4, "timeout": probe_timeout_s}
        limits |= {"socket_connect_timeout": probe_timeout_s, "socket_timeout": probe_timeout_s}
        limits |= {"retry_on_timeout": False, "retry": None}
    if settings.sentinels():
        return sentinel(settings).master_for(
            settings.redis_sentinel_master,
            connection_pool_class=SentinelBlockingConnectionPool,
            # The URL's own options (?socket_timeout=...) win, as from_url lets them below;
            # a probe's timeouts win over both.
            **{**_CONNECTION, **_master_params(settings), **limits},
            decode_responses=True,
        )
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url, **{**_CONNECTION, **limits}, decode_responses=True
    )
    return redis.Redis(connection_pool=pool)


def sentinel(settings: Settings) -> Sentinel:
    """A client of the sentinels themselves (each command goes to them, not to the master)."""
    return Sentinel(settings.sentinels(), sentinel_kwargs=_sentinel_params(settings))


def _sentinel_params(settings: Settings) -> dict[str, Any]:
    params: dict[str, Any] = {
        "socket_connect_timeout": SENTINEL_TIMEOUT_S,
        "socket_timeout": SENTINEL_TIMEOUT_S,
    }
    if settings.redis_sentinel_password:
        params["password"] = settings.redis_sentinel_password
    return params


def _master_params(settings: Settings) -> dict[str, Any]:
    """What ``redis_url`` says about the master besides its address: user, password,
    database, TLS options. The address comes from the sentinels."""
    params = redis.connection.parse_url(settings.redis_url)
    if params.get("connection_class") is redis.UnixDomainSocketConnection:
        raise ConfigError("BROWSING_REDIS_URL: a unix socket cannot be used with Sentinel")
    if params.pop("connection_class", None) is redis.SSLConnection:
        params["ssl"] = True  # the Sentinel pool picks its own TLS connection class
    for key in ("host", "port"):
        params.pop(key, None)
    return params


def broker_url(settings: Settings) -> str:
    """``redis_url``, or with Sentinel, kombu's list of sentinels
    (``sentinel://[user:password@]host:port[/db];sentinel://...``) carrying the
    master's credentials and database from ``redis_url``."""
    pairs = settings.sentinels()
    if not pairs:
        return settings.redis_url
    url = urlsplit(settings.redis_url)
    userinfo = url.netloc.rpartition("@")[0]
    credentials = f"{userinfo}@" if userinfo else ""
    return ";".join(
        f"sentinel://{credentials}{f'[{host}]' if ':' in host else host}:{port}{url.path}"
        for host, port in pairs
    )


def _setup_logging(
    log_format: str = "json", loglevel: str | int | None = None, **_: object
) -> None:
    # Connected to Celery's setup_logging: Celery then leaves logging to us.
    from shared import logs

    logs.configure(loglevel or "INFO", log_format)


def celery_app(name: str, settings: Settings) -> Celery:
    """A Celery app with the settings our design depends on (see ARCHITECTURE.md)."""
    signals.setup_logging.connect(
        functools.partial(_setup_logging, settings.log_format),
        weak=False,
        dispatch_uid="browsing-logs",
    )
    # kombu's Redis transport allows 10 connections per channel by default; a gevent
    # gateway publishing for hundreds of requests at once needs more.
    transport_options: dict[str, Any] = {"visibility_timeout": 4 * 3600, "max_connections": 1000}
    transport = "shared.kombu_redis:Transport"
    if settings.sentinels():
        transport = "shared.kombu_redis:SentinelTransport"
        transport_options |= {
            "master_name": settings.redis_sentinel_master,
            "sentinel_kwargs": _sentinel_params(settings),
        }
    app = Celery(name, broker=broker_url(settings))
    app.conf.update(
        broker_transport=transport,
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
        broker_transport_options=transport_options,
        broker_pool_limit=100,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app
