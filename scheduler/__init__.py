"""The scheduler: a Celery worker on the "scheduler" queue plus a maintenance loop.

Run it with ``celery -A scheduler worker -Q scheduler --pool solo``; Celery finds the
app in ``scheduler/celery.py``, and importing this package builds nothing.
"""
