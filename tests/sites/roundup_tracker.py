"""Roundup (an issue tracker, from PyPI) with its classic template, run locally.

``serve_roundup()`` installs a tracker into a temporary directory (SQLite backend), adds
two users and a few issues, and serves it under ``/tracker/`` through Roundup's WSGI
handler (``roundup-server`` refuses to run as root, which CI is). It yields the tracker's
URL and a way to read its database, so a check can see what a task changed.
Run as ``python -m tests.sites.roundup_tracker PORT HOME`` it is that process.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from browsing.processes import free_port
from tests.sites.process import serve_process

ADMIN_PASSWORD = "tracker-admin-pw"
USERS = {"ada": "ada-tracker-pw", "bob": "bob-tracker-pw"}
# title, priority, status, assigned to, first message
ISSUES = (
    (
        "Login page crashes on empty password",
        "critical",
        "chatting",
        "ada",
        "Open the login page, leave the password empty and press Log in: a traceback.",
    ),
    ("Export to CSV drops the last row", "bug", "in-progress", "bob", "The last row is missing."),
    ("Add a dark theme", "wish", "unread", None, "Many of us work at night."),
    ("Search ignores accents", "bug", "testing", "ada", "Searching for cafe misses café."),
    ("Translate the help pages into German", "feature", "deferred", None, "Wanted by users."),
)


@dataclass(frozen=True)
class Roundup:
    base_url: str  # ends with /tracker/
    home: Path
    admin_password: str = ADMIN_PASSWORD

    def query(self, sql: str, *params: object) -> list[tuple]:
        """Read the tracker's SQLite database (tables ``_issue``, ``_user``...; ``_title``...)."""
        with sqlite3.connect(f"file:{self.home / 'db' / 'db'}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()

    def issues(self) -> list[dict[str, str | None]]:
        rows = self.query(
            "SELECT i.id, i._title, p._name, s._name, u._username FROM _issue i "
            "LEFT JOIN _priority p ON p.id = i._priority LEFT JOIN _status s ON s.id = i._status "
            "LEFT JOIN _user u ON u.id = i._assignedto WHERE i.__retired__ = 0 ORDER BY i.id"
        )
        keys = ("id", "title", "priority", "status", "assignedto")
        return [dict(zip(keys, (str(r[0]), *r[1:]), strict=True)) for r in rows]


def install(home: str, base_url: str) -> None:
    from roundup.admin import AdminTool

    def admin(*args: str) -> None:
        sys.argv = ["roundup-admin", "-i", home, *args]
        if AdminTool().main():
            raise RuntimeError(f"roundup-admin {args[0]} failed")

    admin("install", "classic", "sqlite")
    config = Path(home, "config.ini")
    text = config.read_text()
    for default, value in (
        ("#web = NO DEFAULT", f"web = {base_url}"),
        ("#domain = NO DEFAULT", "domain = example.test"),
        # Mail to the issues' nosy lists goes to a file: there is no mail server.
        ("#host = NO DEFAULT", "host = localhost"),
        ("\ndebug = \n", f"\ndebug = {home}/mail.log\n"),
        # The default spends ~0.3 s of CPU per login on purpose; a bench needs none of that.
        ("password_pbkdf2_default_rounds = 250000", "password_pbkdf2_default_rounds = 1000"),
    ):
        assert default in text, default
        text = text.replace(default, value)
    config.write_text(text)
    admin("initialise", ADMIN_PASSWORD)

    import roundup.instance
    from roundup import date, password

    db = roundup.instance.open(home).open("admin")
    try:
        users = {
            name: db.user.create(
                username=name,
                password=password.Password(secret, config=db.config),
                address=f"{name}@example.test",
                roles="User",
            )
            for name, secret in USERS.items()
        }
        for title, priority, status, assignee, message in ISSUES:
            msg = db.msg.create(content=message, author=users["ada"], date=date.Date("."))
            fields = {"assignedto": users[assignee]} if assignee else {}
            db.issue.create(
                title=title,
                priority=db.priority.lookup(priority),
                status=db.status.lookup(status),
                messages=[msg],
                **fields,
            )
        db.commit()
    finally:
        db.close()


def main(port: int, home: str) -> None:
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from roundup.cgi.wsgi_handler import RequestDispatcher

    install(home, f"http://127.0.0.1:{port}/tracker/")
    tracker = RequestDispatcher(home)

    def app(environ: dict, start_response):  # type: ignore[no-untyped-def]
        path = environ.get("PATH_INFO", "")
        if not path.startswith("/tracker"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"the tracker is at /tracker/"]
        environ["SCRIPT_NAME"], environ["PATH_INFO"] = "/tracker", path[len("/tracker") :]
        return tracker(environ, start_response)

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    make_server("127.0.0.1", port, app, server_class=Server, handler_class=Quiet).serve_forever()


@contextmanager
def serve_roundup() -> Iterator[Roundup]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="roundup-") as directory:
        home = Path(directory) / "tracker"
        base_url = f"http://127.0.0.1:{port}/tracker/"
        argv = [sys.executable, "-m", "tests.sites.roundup_tracker", str(port), str(home)]
        with serve_process(argv, base_url, f"{directory}/server.log", name="roundup"):
            yield Roundup(base_url, home)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
