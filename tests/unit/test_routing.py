import random

import pytest

from scheduler.routing import NodeFilter, choose_nodes, eligible_nodes
from shared.errors import RoutingError
from shared.registry import NodeInfo

NOW = 1_000_000


def node(uid: str, country: str = "DE", *, capacity: int = 2, inflight: int = 0, **kw) -> NodeInfo:
    base = dict(
        uid=uid,
        country=country,
        queue=uid,
        capacity=capacity,
        inflight=inflight,
        drained=False,
        ready=True,
        browsers=capacity,
        heartbeat_ms=NOW,
        started_ms=0,
        version="t",
        hostname="h",
    )
    base.update(kw)
    return NodeInfo(**base)


def test_country_filter_is_case_insensitive_and_excludes_other_countries():
    nodes = [node("node.de.01", "de"), node("node.us.01", "US")]
    chosen = eligible_nodes(nodes, NodeFilter(country_iso="DE"), now_ms=NOW, dead_after_ms=10)
    assert [n.uid for n in chosen] == ["node.de.01"]


def test_node_uid_filter_selects_exactly_that_node():
    nodes = [node("node.de.01"), node("node.de.02")]
    chosen = eligible_nodes(nodes, NodeFilter(node_uid="node.de.02"), now_ms=NOW, dead_after_ms=10)
    assert [n.uid for n in chosen] == ["node.de.02"]


def test_dead_drained_and_unready_nodes_are_not_eligible():
    nodes = [
        node("dead", heartbeat_ms=NOW - 11),
        node("drained", drained=True),
        node("starting", ready=False),
        node("ok"),
    ]
    chosen = eligible_nodes(nodes, NodeFilter(), now_ms=NOW, dead_after_ms=10)
    assert [n.uid for n in chosen] == ["ok"]


def test_least_loaded_node_wins():
    nodes = [node("busy", inflight=2), node("idle", inflight=0), node("half", inflight=1)]
    assert [n.uid for n in choose_nodes(nodes, 3, node_filter=NodeFilter())] == [
        "idle",
        "half",
        "busy",
    ]


def test_ties_are_broken_at_random():
    nodes = [node("a"), node("b")]
    firsts = {
        choose_nodes(nodes, 1, node_filter=NodeFilter(), rng=random.Random(s))[0].uid
        for s in range(20)
    }
    assert firsts == {"a", "b"}


def test_preferred_node_goes_first_even_when_busier():
    nodes = [node("idle"), node("sticky", inflight=1)]
    chosen = choose_nodes(nodes, 1, node_filter=NodeFilter(), preferred="sticky")
    assert chosen[0].uid == "sticky"


def test_fanout_takes_distinct_nodes_and_at_most_the_available_ones():
    nodes = [node("a"), node("b")]
    chosen = choose_nodes(nodes, 5, node_filter=NodeFilter())
    assert sorted(n.uid for n in chosen) == ["a", "b"]


def test_no_candidate_names_the_filter():
    with pytest.raises(RoutingError, match="country_iso=FR"):
        choose_nodes([], 1, node_filter=NodeFilter(country_iso="FR"))
    with pytest.raises(RoutingError, match="node_uid=node.xx.09"):
        choose_nodes([], 1, node_filter=NodeFilter(node_uid="node.xx.09"))
    # Without a filter, nothing to name: before, "no live browsing node matches no filter".
    with pytest.raises(RoutingError) as none:
        choose_nodes([], 1, node_filter=NodeFilter())
    assert none.value.message == (
        "no live browsing node is available (every node is drained, stopping or dead)"
    )


def test_drained_stopping_starting_and_dead_nodes_take_nothing():
    nodes = [
        node("node.de.01"),
        node("node.de.02", drained=True),
        node("node.de.03", stopping=True),  # its warm shutdown began
        node("node.de.04", ready=False),
        node("node.de.05", heartbeat_ms=NOW - 11),
    ]
    chosen = eligible_nodes(nodes, NodeFilter(), now_ms=NOW, dead_after_ms=10)
    assert [n.uid for n in chosen] == ["node.de.01"]


def test_among_equally_free_nodes_the_one_whose_slot_freed_longest_ago_goes_first():
    """A node's process prepares its next browser context after each task: the node
    that freed its slot a moment ago would keep the task waiting for that."""
    just_freed = node("node.de.01", released_ms=NOW - 5)
    idle = node("node.de.02", released_ms=NOW - 5_000)
    busier = node("node.de.03", inflight=1, released_ms=0)
    for seed in range(20):
        chosen = choose_nodes(
            [just_freed, busier, idle], 2, node_filter=NodeFilter(), rng=random.Random(seed)
        )
        assert [n.uid for n in chosen] == ["node.de.02", "node.de.01"]
