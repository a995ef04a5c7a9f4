"""The node registry in Redis: who is up, where, and how busy.

Liveness belongs to us, not to Celery: a node writes a heartbeat every few seconds and
is live while its last heartbeat is younger than ``node_dead_after_s``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import redis
from redis.client import Pipeline

from shared import keys, scripts


@dataclass(frozen=True, kw_only=True)
class NodeInfo:
    uid: str
    country: str
    queue: str
    capacity: int
    inflight: int  # attempts assigned to or running on the node
    drained: bool
    stopping: bool = False  # a warm shutdown began: it finishes what it runs and takes nothing new
    ready: bool  # at least one of the node's browsers is up
    browsers: int  # how many of its processes have a browser up
    heartbeat_ms: int
    released_ms: int = 0  # when a slot of it last freed (common.lua release)
    started_ms: int
    version: str
    hostname: str

    def live(self, now_ms: int, dead_after_ms: int) -> bool:
        return now_ms - self.heartbeat_ms <= dead_after_ms

    @property
    def eligible(self) -> bool:
        return self.ready and not self.drained and not self.stopping

    @property
    def free(self) -> int:
        return self.capacity - self.inflight


def _parse(h: dict[str, str], browsers: int = 0, inflight: int = 0) -> NodeInfo:
    return NodeInfo(
        uid=h["uid"],
        country=h.get("country", ""),
        queue=h.get("queue", ""),
        capacity=int(h.get("capacity") or 1),
        inflight=inflight,
        drained=h.get("drained") == "1",
        stopping=h.get("stopping") == "1",
        ready=h.get("ready") == "1",
        browsers=browsers,
        heartbeat_ms=int(h.get("heartbeat_ms") or 0),
        released_ms=int(h.get("released_ms") or 0),
        started_ms=int(h.get("started_ms") or 0),
        version=h.get("version", ""),
        hostname=h.get("hostname", ""),
    )


class NodeRegistry:
    def __init__(self, client: redis.Redis):
        self.redis = client
        self.all_script = client.register_script(
            (resources.files("shared") / "lua" / "nodes.lua").read_text()
        )
        self._heartbeat = client.register_script(
            (resources.files("shared") / "lua" / "heartbeat.lua").read_text()
        )
        self._forget = client.register_script(
            (resources.files("shared") / "lua" / "forget.lua").read_text()
        )

    def register(
        self,
        *,
        uid: str,
        country: str,
        queue: str,
        capacity: int,
        version: str,
        hostname: str,
        now_ms: int,
        again: bool = False,
    ) -> None:
        """Register a starting node: not ready until one of its processes has its browser
        up. ``again``: the node is running and Redis lost its registration; the browsers
        its processes have announced since (``browser_still_up``) are kept."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(keys.NODES, uid)
        if not again:  # a previous run's processes are gone
            pipe.delete(keys.node_browsers(uid))
        pipe.hset(
            keys.node(uid),
            mapping={
                "uid": uid,
                "country": country,
                "queue": queue,
                "capacity": capacity,
                "version": version,
                "hostname": hostname,
                "started_ms": now_ms,
                "heartbeat_ms": now_ms,
                "ready": "0",  # the next heartbeat counts the browsers
                "stopping": "0",
            },
        )
        pipe.execute()

    def heartbeat(self, uid: str, *, now_ms: int) -> bool:
        """Alive; and ready while any of its browsers is up (a node wrongly declared dead
        after a pause becomes eligible again with its next heartbeat). False, with nothing
        written, if the node is not registered: Redis lost its data, and the node must
        register again."""
        node_keys = [keys.NODES, keys.node(uid), keys.node_browsers(uid)]
        return bool(self._heartbeat(keys=node_keys, args=[uid, now_ms, keys.SLOTS_CHANNEL]))

    def browser_up(self, uid: str, pid: int) -> None:
        """A node process has its browser up: the node is ready."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.sadd(keys.node_browsers(uid), pid)
        pipe.hset(keys.node(uid), "ready", 1)
        pipe.publish(keys.SLOTS_CHANNEL, uid)  # waiting tasks may be bound to it now
        pipe.execute()

    def browser_still_up(self, uid: str, pid: int) -> None:
        """Said again every heartbeat interval by each process with a browser: if Redis
        lost the set, it fills again, and the node's heartbeat makes it ready."""
        self.redis.sadd(keys.node_browsers(uid), pid)

    def browser_pids(self, uid: str) -> list[int]:
        return [int(pid) for pid in self.redis.smembers(keys.node_browsers(uid))]

    def browser_down(self, uid: str, pid: int) -> None:
        self.redis.srem(keys.node_browsers(uid), pid)

    def deregister(self, uid: str) -> None:
        """A node that stops on purpose: dead at once, so its queued work moves elsewhere."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.node(uid), mapping={"heartbeat_ms": 0, "ready": 0})
        pipe.delete(keys.node_browsers(uid))
        pipe.execute()

    def forget(self, uid: str, *, now_ms: int, dead_after_ms: int) -> str:
        """Remove a dead node that an operator retired from the registry, so that it is
        no longer listed or reported as down. Answers ``forgotten``, ``missing`` (not
        registered), ``alive`` (its heartbeat is fresh) or ``busy <n>`` (attempts are
        still on it, which the scheduler is recovering); only ``forgotten`` changed
        anything (shared/lua/forget.lua). A forgotten node that starts again registers
        again."""
        node_keys = [keys.NODES, keys.node(uid), keys.node_browsers(uid), keys.node_attempts(uid)]
        return str(self._forget(keys=node_keys, args=[uid, now_ms, dead_after_ms]))

    def mark_stopping(self, uid: str) -> None:
        """A node whose warm shutdown began: no task is bound to it any more (its slots
        free as its attempts end, and must not take new work it would never run)."""
        self.redis.hset(keys.node(uid), "stopping", 1)

    def set_drained(self, uid: str, drained: bool) -> bool:
        """Drain (or undrain) a node; False if no such node is registered."""
        if not self.redis.sismember(keys.NODES, uid):
            return False
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(keys.node(uid), "drained", int(drained))
        pipe.publish(keys.SLOTS_CHANNEL, uid)
        pipe.execute()
        return True

    def get(self, uid: str) -> NodeInfo | None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(keys.node(uid))
        pipe.scard(keys.node_browsers(uid))
        pipe.scard(keys.node_attempts(uid))
        h, browsers, inflight = pipe.execute()
        return _parse(h, browsers, inflight) if h.get("uid") else None

    def all(self) -> list[NodeInfo]:
        """Every registered node, by uid, in one round trip."""
        return self.parse_all(self.all_script(keys=[keys.NODES], args=[keys.PREFIX]))

    def read_all_into(self, pipe: Pipeline) -> None:
        """Queue ``all``'s read on ``pipe`` (see shared/scripts.py); ``parse_all`` reads it."""
        scripts.evalsha(pipe, self.all_script, [keys.NODES], [keys.PREFIX])

    @staticmethod
    def parse_all(reply: list) -> list[NodeInfo]:
        nodes = []
        for flat, browsers, inflight in zip(reply[0::3], reply[1::3], reply[2::3], strict=True):
            h = dict(zip(flat[0::2], flat[1::2], strict=True))
            if h.get("uid"):
                nodes.append(_parse(h, int(browsers), int(inflight)))
        return sorted(nodes, key=lambda n: n.uid)

    def pending_attempts(self, uid: str) -> list[tuple[str, int]]:
        """(task_id, attempt) pairs assigned to or running on a node."""
        out = []
        for member in self.redis.smembers(keys.node_attempts(uid)):
            task_id, _, n = member.rpartition("|")
            out.append((task_id, int(n)))
        return out

    def queue_lengths(self, queues: list[str]) -> list[int]:
        """Messages waiting on each node queue, in one round trip (kombu's Redis transport
        keeps a queue as a list under its name)."""
        pipe = self.redis.pipeline(transaction=False)
        for queue in queues:
            pipe.llen(queue)
        return [int(n) for n in pipe.execute()]

    def mark_dead(self, uid: str) -> None:
        """Not ready; its attempts are recovered by the scheduler, each released as it is."""
        self.redis.hset(keys.node(uid), "ready", 0)
