"""``browsing mcp``: serve the browsing tools to an agent host over MCP (stdio)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any

from browsing.client import API_KEY_ENV, URL_ENV, BrowsingClient, ClientError


def client_from_env(environ: Mapping[str, str] | None = None) -> BrowsingClient:
    """The gateway client of ``BROWSING_URL`` and ``BROWSING_API_KEY``, both required: an
    agent host starts the server with an ``env`` of its own, and a server that fell back to
    a default gateway would start fine and then fail every call."""
    environ = os.environ if environ is None else environ
    missing = [name for name in (URL_ENV, API_KEY_ENV) if not environ.get(name)]
    if missing:
        raise ClientError(
            0,
            f"{' and '.join(missing)} not set: `browsing mcp` takes the gateway URL and the API "
            f'key from the environment, e.g. in the host\'s server entry: "env": '
            f'{{"{URL_ENV}": "http://127.0.0.1:8080", "{API_KEY_ENV}": "..."}}',
        )
    return BrowsingClient(environ[URL_ENV], environ[API_KEY_ENV])


def _mcp(args: argparse.Namespace) -> int:
    client = client_from_env()  # checked first: the SDK takes a second or two to import
    from browsing.mcp_server import serve

    serve(client)
    return 0


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "mcp",
        help="serve browse, task_status and cancel_task to an agent host (MCP over stdio)",
        description="An MCP server over stdio, for agent hosts (IDEs, desktop assistants). "
        f"It reads the gateway URL from ${URL_ENV} and the API key from ${API_KEY_ENV}; "
        "both are required.",
    )
    parser.set_defaults(func=_mcp)
