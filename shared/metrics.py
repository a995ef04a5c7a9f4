"""Prometheus plumbing shared by the gateway, the scheduler and the nodes.

Processes that fork workers (gunicorn, Celery prefork) use prometheus-client's
multiprocess mode: every process writes its samples to files in
``PROMETHEUS_MULTIPROC_DIR`` and a scrape merges them. The directory must be set before
``prometheus_client`` is imported anywhere in the process tree, so roles that fork call
``prepare_multiprocess_dir`` before they import their metrics, and only when their
server starts (it empties the directory): gunicorn's config for the gateway, and
``celeryd_init`` for a node worker (nodes/celery.py), never a mere import.
"""

from __future__ import annotations

import os
import shutil
import tempfile

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(role: str) -> str:
    """Use (and empty) $PROMETHEUS_MULTIPROC_DIR, or a fresh private directory."""
    path = os.environ.get(ENV)
    if path:
        shutil.rmtree(path, ignore_errors=True)  # stale files would add old samples
        os.makedirs(path, exist_ok=True)
    else:
        path = tempfile.mkdtemp(prefix=f"browsing-{role}-metrics-")
        os.environ[ENV] = path
    return path


def scrape() -> tuple[bytes, str]:
    """The exposition of this process (and, in multiprocess mode, of its siblings)."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_metrics(port: int, bind: str = "127.0.0.1") -> None:
    """A /metrics HTTP endpoint in a daemon thread (scheduler and node main processes),
    on loopback unless the operator binds it wider (``BROWSING_METRICS_BIND``)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404)
                return
            body, content_type = scrape()
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((bind, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def mark_process_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (multiprocess mode only)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
