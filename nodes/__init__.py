"""A browsing node: ``celery -A nodes worker -Q node.de.01``.

The worker's main process registers the node and heartbeats; each pool child keeps
one warm Chromium and runs attempts in fresh browser contexts.
"""

from __future__ import annotations

from shared.metrics import prepare_multiprocess_dir

# Before anything imports prometheus_client: pool children inherit the directory.
prepare_multiprocess_dir("node")

from shared.config import load_settings  # noqa: E402
from shared.services import celery_app  # noqa: E402

settings = load_settings()
app = celery_app("nodes", settings)
app.conf.update(
    worker_max_tasks_per_child=settings.node_max_tasks_per_child,
    # A pool child starts Chromium before it reports up (lifecycle.start_child).
    worker_proc_alive_timeout=settings.node_child_start_timeout_s,
)

from nodes import lifecycle, task  # noqa: E402,F401  (registers signal handlers and the task)
