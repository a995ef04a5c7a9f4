"""gunicorn settings for the gateway: gevent workers, because /sync holds a request for
up to 10 minutes and a thread per waiter does not scale.

    gunicorn -c gateway/gunicorn_conf.py 'gateway:create_app()'
"""

import json
import os
import shutil
import socket
import tempfile

from gunicorn import util
from gunicorn.workers.ggevent import GeventWorker

from shared.config import load_settings
from shared.metrics import mark_process_dead, prepare_multiprocess_dir

# Before any worker imports prometheus_client: workers inherit the directory.
_metrics_dir = prepare_multiprocess_dir("gateway")
# Only the listening side is read here; the app reads the rest again in create_app().
_settings = load_settings()

bind = f"{_settings.bind}:{_settings.port}"
MAX_ERROR_DETAIL_CHARS = 200


def write_json_error(sock, status_int, reason, mesg):  # noqa: ANN001 - gunicorn's signature
    """The API's ``{"error": ...}`` for what gunicorn refuses itself (a request line or
    headers past its limits, a malformed request), instead of its HTML page."""
    detail = mesg[:MAX_ERROR_DETAIL_CHARS]
    body = json.dumps({"error": f"{reason.lower()}: {detail}" if detail else reason.lower()})
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, (head + body).encode("latin-1", "replace"))
    # The client may still be sending what gunicorn refused to read; closing with that
    # unread would reset the connection, and the client could lose the answer. Say we are
    # done, then take what has already arrived (bounded) so that the close is clean.
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        for _ in range(64):
            if not sock.recv(65536):
                break
    except OSError:
        pass


class JsonErrorGeventWorker(GeventWorker):
    """gunicorn has no setting for its error body: every such answer goes through
    ``gunicorn.util.write_error``, which this worker replaces in its own process. Defined
    here, not in the gateway package, whose imports (boto3, ssl) must come after gevent
    patches the worker."""

    def init_process(self) -> None:
        util.write_error = write_json_error
        super().init_process()


worker_class = JsonErrorGeventWorker
workers = _settings.gateway_workers
worker_connections = _settings.gateway_connections
timeout = 60
graceful_timeout = 10
keepalive = 75
accesslog = None


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Structured logs (shared/logs.py) for gunicorn's own lines and the app's; workers
    inherit them. Not logconfig_dict: that would also turn on per-request access lines,
    which cost the submit path about 7 % of its time."""
    if _settings.log_format == "text":
        return
    from shared import logs

    logs.configure(log_format=_settings.log_format)
    server.log.error_log.handlers = [logs.handler(_settings.log_format)]
    server.log.error_log.propagate = False


# gunicorn >= 27 opens a control socket at one fixed path per user; several gateways on
# one host (or a test suite's clusters) would fight over it, and nothing here uses it.
control_socket_disable = True


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001
    # Only the private directory made above, never one the operator named.
    if _metrics_dir.startswith(os.path.join(tempfile.gettempdir(), "browsing-gateway-metrics-")):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
