"""Submit throughput: POST /async on the local cluster's gateway against a bare Flask JSON
endpoint served the same way (the same gunicorn config: gevent, same worker count),
measured in the same run with wrk.

    .venv/bin/python -m bench.submit [--duration 10] [--connections 64] [--rounds 2]

Target (issue 6): at least 0.5 of the bare endpoint's requests per second; p99 reported.
Two more endpoints show what the work a submit must do costs by itself on this machine:
the bare one plus the one Redis transaction that writes a task record, and that plus the
Celery message to the cluster's scheduler (the submit ARCHITECTURE.md sets out, built
from raw parts, one request at a time).
Needs wrk (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from browsing.cluster import LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent

BODY = '{"task": "Open http://127.0.0.1:9/index.html and return the title"}'


def wrk(url: str, key: str, duration: int, connections: int) -> tuple[float, float]:
    """(requests per second, p99 latency in ms) of POSTing BODY to url."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            'wrk.method = "POST"\n'
            f"wrk.body = '{BODY}'\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "Bearer {key}"\n'
        )
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-s", script.name]
            + [url],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    if re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        raise SystemExit(f"{url} answered errors under load:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return rps, float(p99.group(1)) * scale


def bare_gateway(port: int, workdir: Path, redis_url: str) -> subprocess.Popen:
    """bench/bare_app.py under the gateway's own gunicorn config."""
    env = {**os.environ, "BROWSING_PORT": str(port)}
    env["BROWSING_REDIS_URL"] = redis_url
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gateway" / "gunicorn_conf.py"),
            "bench.bare_app:app",
        ],
        cwd=ROOT,  # gunicorn imports the app from its working directory
        env=env,
        stdout=open(workdir / "bare.log", "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the bare Flask app did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of each")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    workdir = Path(tempfile.mkdtemp(prefix="bench-submit-"))
    # No nodes: the scheduler fails each task at once ("no live node"), so what is
    # measured is the gateway's submit path (auth, validation, record, enqueue) and the
    # scheduler's dispatch load, without browsers competing for the two cores.
    cluster = LocalCluster(node_queues=(), port=free_port(), reuse_services=False, workdir=workdir)
    with cluster:
        bare_port = free_port()
        bare = bare_gateway(bare_port, workdir, cluster.redis_url)
        try:
            ours = {"rps": [], "p99": []}
            base = {"rps": [], "p99": []}
            floor = {"rps": [], "p99": []}
            raw = {"rps": [], "p99": []}
            url = f"{cluster.base_url}/api/v1/browsing/async"
            bare_url = f"http://127.0.0.1:{bare_port}/api/v1/browsing/async"
            floor_url = f"http://127.0.0.1:{bare_port}/durable/async"
            raw_url = f"http://127.0.0.1:{bare_port}/enqueued/async"
            sides = ((bare_url, base), (floor_url, floor), (raw_url, raw), (url, ours))
            for target, _ in sides:  # warm them up
                wrk(target, cluster.api_key, 2, args.connections)
            for _ in range(args.rounds):
                for target, into in sides:
                    rps, p99 = wrk(target, cluster.api_key, args.duration, args.connections)
                    into["rps"].append(rps)
                    into["p99"].append(p99)
        finally:
            bare.terminate()
            bare.wait(10)
    b_rps, o_rps = sum(base["rps"]) / args.rounds, sum(ours["rps"]) / args.rounds
    f_rps = sum(floor["rps"]) / args.rounds
    r_rps = sum(raw["rps"]) / args.rounds
    print(f"bare Flask JSON endpoint: {b_rps:.0f} req/s, p99 {max(base['p99']):.1f} ms")
    print(
        f"the same + one Redis transaction (the record): {f_rps:.0f} req/s, "
        f"p99 {max(floor['p99']):.1f} ms"
    )
    print(
        f"the same + the Celery message to the scheduler (raw parts, per request): "
        f"{r_rps:.0f} req/s, p99 {max(raw['p99']):.1f} ms"
    )
    print(f"POST /async (gateway):    {o_rps:.0f} req/s, p99 {max(ours['p99']):.1f} ms")
    print(f"ratio (gateway / bare): {o_rps / b_rps:.2f}  (target >= 0.5)")
    print(f"ratio (bare + record write / bare), a record written per request: {f_rps / b_rps:.2f}")
    print(f"ratio (bare + record + message / bare), the raw submit path: {r_rps / b_rps:.2f}")
    print(f"ratio (gateway / bare + record write): {o_rps / f_rps:.2f}")
    print(f"ratio (gateway / raw submit path): {o_rps / r_rps:.2f}")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
