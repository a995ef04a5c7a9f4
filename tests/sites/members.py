"""A small members-only site for the session tests: a login form behind a cookie banner.

- ``/login``: a cookie banner ("Accept all" stores the choice in localStorage, a theme
  in IndexedDB, and hides the banner), then a form (Username, Password, "Log in")
  that POSTs to ``/login``.
- ``POST /login`` with ada / lovelace-1815: a new random session cookie (``member``,
  HttpOnly, one hour), then 303 to ``/members``; anything else: the form again.
- ``/members``: "Welcome back, Ada" to a browser whose cookie the site issued, and
  whether the cookie choice is remembered (read from localStorage by a script) and the
  theme (from IndexedDB, "Theme: dark");
  "Please log in" otherwise (a 200: the agent reads it as any page).

The site keeps the cookie values it issued (``MembersSite.issued``), so a test can look
for them in what the service stored.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

USER, PASSWORD = "ada", "lovelace-1815"

BANNER = """<div id="banner" role="dialog" aria-label="Cookies">
<p>We use cookies.</p><button id="accept" type="button">Accept all</button></div>
<script>
if (localStorage.getItem('cookie-consent') === 'yes') {
  document.getElementById('banner').remove();
} else {
  document.getElementById('accept').addEventListener('click', () => {
    localStorage.setItem('cookie-consent', 'yes');
    const open = indexedDB.open('prefs', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('prefs');
    open.onsuccess = () => {
      const tx = open.result.transaction('prefs', 'readwrite');
      tx.objectStore('prefs').put('dark', 'theme');
    };
    document.getElementById('banner').remove();
  });
}
</script>"""

LOGIN_PAGE = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Members Login</title></head><body><main>{BANNER}
<h1>Log in</h1><p>{{message}}</p>
<form method="post" action="/login">
<label for="user">Username</label><input id="user" name="user" type="text">
<label for="password">Password</label><input id="password" name="password" type="password">
<button type="submit">Log in</button>
</form></main></body></html>"""

MEMBERS_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Members Area</title></head><body><main>
<h1>Members area</h1><p>Welcome back, Ada. Your membership number is 1815.</p>
<p id="consent"></p><p id="theme">Theme: none</p>
<script>
document.getElementById('consent').textContent = 'Cookie choice remembered: ' +
  (localStorage.getItem('cookie-consent') === 'yes' ? 'yes' : 'no');
const open = indexedDB.open('prefs', 1);
open.onupgradeneeded = () => open.result.createObjectStore('prefs');
open.onsuccess = () => {
  const get = open.result.transaction('prefs').objectStore('prefs').get('theme');
  get.onsuccess = () => {
    document.getElementById('theme').textContent = 'Theme: ' + (get.result || 'none');
  };
};
</script></main></body></html>"""

DENIED_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Log in required</title></head><body><main>
<h1>Members only</h1><p>Please log in to see this page.</p></main></body></html>"""


@dataclass
class MembersSite:
    base_url: str
    issued: list[str] = field(default_factory=list)  # the member cookies given out


def _handler(site: MembersSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str, headers: dict[str, str] | None = None) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _member(self) -> bool:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
            morsel = cookie.get("member")
            return morsel is not None and morsel.value in site.issued

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/login":
                self._send(200, LOGIN_PAGE.replace("{message}", "Members sign in here."))
            elif path == "/members":
                if self._member():
                    self._send(200, MEMBERS_PAGE)
                else:
                    self._send(200, DENIED_PAGE)
            else:
                self._send(404, "<!doctype html><title>Not found</title>")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = parse_qs(self.rfile.read(length).decode())
            if self.path != "/login":
                self._send(404, "<!doctype html><title>Not found</title>")
            elif form.get("user") == [USER] and form.get("password") == [PASSWORD]:
                token = secrets.token_hex(16)
                site.issued.append(token)
                self.send_response(303)
                self.send_header(
                    "Set-Cookie", f"member={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
                )
                self.send_header("Location", "/members")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(200, LOGIN_PAGE.replace("{message}", "Wrong username or password."))

    return Handler


@contextmanager
def serve_members() -> Iterator[MembersSite]:
    """The members site on 127.0.0.1 (a free port)."""
    site = MembersSite(base_url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(site))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="members-site", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        site.base_url = f"http://{host}:{port}"
        yield site
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
