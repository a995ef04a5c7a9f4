"""The node's Celery app, which ``celery -A nodes worker -Q node.de.01`` finds here
(Celery falls back to ``<package>.celery``).

Building it reads the settings and nothing more, so ``celery -A nodes inspect ...`` and
``status`` in a node's container touch nothing of the running worker's. What a worker
needs is set up when a worker starts (``celeryd_init``, the first signal of
``celery worker``): the metrics directory, then the runtime, the task and the signal
handlers of ``nodes/lifecycle.py``.
"""

from __future__ import annotations

from typing import Any

from celery import signals

from shared.config import load_settings
from shared.services import celery_app

settings = load_settings()
app = celery_app("nodes", settings)
app.conf.update(
    worker_max_tasks_per_child=settings.node_max_tasks_per_child,
    # A pool child starts Chromium before it reports up (NodeLifecycle.start_child).
    worker_proc_alive_timeout=settings.node_child_start_timeout_s,
)


@signals.celeryd_init.connect
def _start_worker(instance: Any, **_: Any) -> None:
    if instance.app is not app:
        return
    from shared.metrics import prepare_multiprocess_dir

    # Before anything imports prometheus_client (nodes.metrics): it reads the directory
    # once, and the pool children inherit it. Emptied here, by a starting worker only.
    prepare_multiprocess_dir("node")

    from nodes.lifecycle import NodeLifecycle
    from nodes.runtime import NodeRuntime

    app.runtime = NodeRuntime(settings=settings)  # type: ignore[attr-defined]
    NodeLifecycle(app, app.runtime).install()  # type: ignore[attr-defined]
