"""kombu's Redis transport, keeping one client object per channel for its commands.

kombu builds a new ``redis.Redis`` for every publish (``Channel.conn_or_acquire``), and
redis-py's constructor fills a dict of about 170 response callbacks each time: 40 % of a
publish's CPU here. The kept client draws its connections from the channel's pool, as
every client kombu makes does; a redis-py client is safe to share between threads. It is
rebuilt when the channel replaces its pool (after a reconnect).

Selected with Celery's ``broker_transport`` (shared/services.py): ``Transport`` for a
``redis://`` broker URL, ``SentinelTransport`` for kombu's ``sentinel://`` list (Redis
behind Sentinel, docs/redis-ha.md), where the kept client draws on the channel's
Sentinel-managed pool and so follows a failover as kombu's own clients do.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis


class _KeptClient:
    _kept_client: Any = None
    pool: Any

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:  # BRPOP and LISTEN: kombu's own, one per channel already
            return super()._create_client(asynchronous=True)  # type: ignore[misc]
        client = self._kept_client
        if client is None or client.connection_pool is not self.pool:
            client = self._kept_client = super()._create_client()  # type: ignore[misc]
        return client


class Channel(_KeptClient, kombu_redis.Channel):
    pass


class SentinelChannel(_KeptClient, kombu_redis.SentinelChannel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
