"""A browsing node: ``celery -A nodes worker -Q node.de.01``.

Importing this package builds nothing. Celery's ``-A nodes`` finds the app in
``nodes/celery.py``; the worker's main process registers the node and heartbeats, and
each pool child keeps one warm Chromium and runs attempts in fresh browser contexts
(``nodes/lifecycle.py``).
"""
