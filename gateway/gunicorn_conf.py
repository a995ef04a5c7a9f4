"""gunicorn settings for the gateway: gevent workers, because /sync holds a request for
up to 10 minutes and a thread per waiter does not scale.

    gunicorn -c gateway/gunicorn_conf.py 'gateway:create_app()'
"""

import os

from shared.metrics import mark_process_dead, prepare_multiprocess_dir

# Before any worker imports prometheus_client: workers inherit the directory.
prepare_multiprocess_dir("gateway")

bind = f"{os.environ.get('BROWSING_BIND', '127.0.0.1')}:{os.environ.get('BROWSING_PORT', '8080')}"
worker_class = "gevent"
workers = int(os.environ.get("BROWSING_GATEWAY_WORKERS", "2"))
worker_connections = int(os.environ.get("BROWSING_GATEWAY_CONNECTIONS", "4000"))
timeout = 60
graceful_timeout = 10
keepalive = 75
accesslog = None


def on_starting(server):  # noqa: ANN001 - gunicorn's hook signature
    """Structured logs (shared/logs.py) for gunicorn's own lines and the app's; workers
    inherit them. Not logconfig_dict: that would also turn on per-request access lines,
    which cost the submit path about 7 % of its time."""
    if os.environ.get("BROWSING_LOG_FORMAT", "json").lower() == "text":
        return
    from shared import logs

    logs.configure()
    server.log.error_log.handlers = [logs.handler()]
    server.log.error_log.propagate = False


# gunicorn >= 27 opens a control socket at one fixed path per user; several gateways on
# one host (or a test suite's clusters) would fight over it, and nothing here uses it.
control_socket_disable = True


def child_exit(server, worker):  # noqa: ANN001 - gunicorn's hook signature
    mark_process_dead(worker.pid)


def on_exit(server):  # noqa: ANN001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").startswith("/tmp/browsing-gateway-metrics-"):
        import shutil

        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
