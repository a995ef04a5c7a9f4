"""The egress policy as a user meets it through the API: the cluster's own ports are
refused with an error a person can act on, refused subresources are counted but do not
fail the task, the refusals are a metric, and the metrics servers listen on loopback."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest
import requests

from browsing.cluster import LocalCluster

SYNC = "/api/v1/browsing/sync"


def cluster_ports(cluster: LocalCluster) -> dict[str, int]:
    ports = {
        "redis": urlsplit(cluster.redis_url).port,
        "s3": urlsplit(cluster.env["BROWSING_S3_ENDPOINT_URL"]).port,
        "gateway": cluster.port,
    }
    ports.update({f"metrics of {name}": port for name, port in cluster.metrics_ports.items()})
    return ports


def test_every_port_of_the_cluster_is_refused_with_an_actionable_error(cluster, api):
    for name, port in cluster_ports(cluster).items():
        resp = api.post(SYNC, {"task": f"Open http://127.0.0.1:{port}/ and return the text"})
        assert resp.status_code == 200, (name, resp.text)
        body = resp.json()
        assert body["success"] is False, (name, body)
        assert body["error"] == (
            f"egress refused: 127.0.0.1:{port} is a loopback address "
            "(BROWSING_EGRESS_ALLOW can allow it)"
        ), name
        assert json.loads(body["payload"]) == {"result": None, "screenshots": []}
        refused = body["info"]["egress_refused"]
        assert refused["count"] >= 1 and refused["first"] == [f"127.0.0.1:{port}"], name
        # Nothing of what answers there came back: no bucket listing, no metrics text.
        status = api.status(body["task_id"])
        assert "ListAllMyBucketsResult" not in json.dumps(status)
        assert "# HELP" not in json.dumps(status)


def test_a_refused_image_is_counted_and_the_task_still_completes(cluster, api, sites):
    s3_port = cluster_ports(cluster)["s3"]
    image = f"http://127.0.0.1:{s3_port}/browsing-screenshots/"
    resp = api.post(
        SYNC,
        {
            "task": f"Open {sites}/embed?src={image} and return the title",
            "screenshots": {"mode": "final_only", "full_page": False},
        },
    )
    body = resp.json()
    assert body["success"] is True, body
    assert json.loads(body["payload"])["result"] == "Embedding Page"
    assert body["info"]["egress_refused"]["first"] == [f"127.0.0.1:{s3_port}"]
    assert body["info"]["attempts"][0]["egress_refused"]["count"] >= 1


def test_refusals_are_a_metric_by_reason(cluster, api):
    port = cluster_ports(cluster)["redis"]
    body = api.post(
        SYNC, {"task": f"Open http://127.0.0.1:{port}/", "filter": {"country_iso": "DE"}}
    )
    assert body.json()["success"] is False
    text = requests.get(cluster.metrics_url("node.de.01"), timeout=10).text
    samples = [
        line
        for line in text.splitlines()
        if line.startswith('browsing_egress_refused_total{reason="loopback"}')
    ]
    assert samples and float(samples[0].split()[-1]) >= 1, text[:2000]


@pytest.mark.parametrize("name", ["scheduler", "node.de.01"])
def test_metrics_servers_listen_on_loopback_only(cluster, name):
    port = cluster.metrics_ports[name]
    assert requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).status_code == 200
    # Another address of this machine: a server bound to 0.0.0.0 would answer there.
    with socket.socket() as sock:
        sock.settimeout(5)
        assert sock.connect_ex(("127.0.0.2", port)) != 0
