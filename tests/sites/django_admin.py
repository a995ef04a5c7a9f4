"""Django's admin site, run locally: a third-party application the agent was not written for.

``serve_django_admin()`` starts it in a child process (an SQLite database in a
temporary directory, an admin user and two ordinary users) and yields its base
URL and its database. Run as ``python -m tests.sites.django_admin PORT DIR`` it is that process.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from browsing.cluster import free_port

ADMIN_USER = "admin"
ADMIN_PASSWORD = "correct-horse-battery"
USERS = ("ada", "grace")


@dataclass(frozen=True)
class DjangoAdmin:
    base_url: str
    username: str = ADMIN_USER
    password: str = ADMIN_PASSWORD
    database: Path | None = None  # its SQLite file, for checks of what a task changed

    def query(self, sql: str, *params: object) -> list[tuple]:
        assert self.database is not None
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()


def _configure(directory: str) -> None:
    from django.conf import settings

    settings.configure(
        DEBUG=True,
        SECRET_KEY="test-only-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": os.path.join(directory, "admin.sqlite3"),
            }
        },
        # The default hasher spends ~1 s of CPU per login on purpose; tests need none of that.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        STATIC_URL="static/",
        USE_TZ=True,
        LANGUAGE_CODE="en-us",
    )


def _urlpatterns() -> list:
    from django.contrib import admin
    from django.urls import path

    return [path("admin/", admin.site.urls)]


def __getattr__(name: str) -> list:
    # ROOT_URLCONF is this module; Django reads ``urlpatterns`` only after setup.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def main(port: int, directory: str) -> None:
    _configure(directory)
    import django
    from django.core.management import call_command

    django.setup()
    from django.contrib.auth.models import User

    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_superuser(ADMIN_USER, "admin@example.test", ADMIN_PASSWORD)
    for name in USERS:
        User.objects.create_user(name, f"{name}@example.test", "unused-password")
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, use_threading=True)


@contextmanager
def serve_django_admin(timeout_s: float = 90) -> Iterator[DjangoAdmin]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="django-admin-") as directory:
        log = open(os.path.join(directory, "server.log"), "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.sites.django_admin", str(port), directory],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parents[2],  # where ``tests`` is importable
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                if proc.poll() is not None:
                    log.flush()
                    output = open(log.name, errors="replace").read()[-2000:]
                    raise RuntimeError(f"the Django admin exited: {output}")
                with suppress(OSError):
                    urllib.request.urlopen(f"{base_url}/admin/login/", timeout=2)
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the Django admin did not answer in {timeout_s:g} s")
                time.sleep(0.2)
            yield DjangoAdmin(base_url, database=Path(directory) / "admin.sqlite3")
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            log.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
