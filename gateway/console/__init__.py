"""The web console: a small JavaScript app served from files in this package, at ``/``
(for browsers) and ``/console/``. No build step and nothing fetched at run time, so it
works air-gapped and ``make run`` is all it needs.

It calls the same API as any client, with the key the user pasted in a Bearer header
(kept in the tab's sessionStorage, never in a URL or cookie). Its pages are sent with a
strict Content-Security-Policy: scripts and styles from these files only, no inline code.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from flask import Blueprint, Response, request

from shared.errors import NotFoundError

bp = Blueprint("console", __name__)

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
ASSET = re.compile(r"^[a-z0-9-]{1,40}\.(js|css|svg)\Z")
MIMETYPES = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _read(name: str) -> bytes:
    return (resources.files("gateway.console") / "static" / name).read_bytes()


def _page() -> Response:
    response = Response(_read("index.html"), mimetype="text/html")
    response.headers.update(HEADERS)
    response.headers["Cache-Control"] = "no-cache"
    return response


def _wants_html() -> bool:
    accepted = request.accept_mimetypes
    return accepted.quality("text/html") > accepted.quality("application/json")


@bp.get("/")
def root() -> Any:
    """The console for a browser; API clients keep the JSON 404 they always had here."""
    if not _wants_html():
        raise NotFoundError("not found: see /api/v1/openapi.json for the endpoints")
    return _page()


@bp.get("/console/")
def console() -> Response:
    return _page()


@bp.get("/console/static/<name>")
def asset(name: str) -> Response:
    kind = ASSET.match(name)
    if kind is None:
        raise NotFoundError("no such console file")
    try:
        body = _read(name)
    except FileNotFoundError as exc:
        raise NotFoundError("no such console file") from exc
    response = Response(body, mimetype=MIMETYPES[kind.group(1)])
    response.headers.update(HEADERS)
    response.headers["Cache-Control"] = "no-cache"  # revalidated: a new version shows at once
    response.add_etag()
    return response.make_conditional(request)
