"""Python's own documentation server (``python -m pydoc -p``), for the standard library.

It runs isolated (``-I -S``: no site-packages, not the repository's own packages):
pydoc's search imports every package it can find, and in this venv one of them
(``mcp.cli``, without its optional ``typer``) calls ``sys.exit`` on import, which
stopped the whole server after the first search.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from browsing.processes import free_port
from tests.sites.process import serve_process


@contextmanager
def serve_pydoc() -> Iterator[str]:
    """Yield the base URL of a pydoc server; its index is ``/``, a module ``/json.html``."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-I", "-S", "-m", "pydoc", "-n", "127.0.0.1", "-p", str(port)]
    with tempfile.TemporaryDirectory(prefix="pydoc-") as directory:
        with serve_process(argv, f"{base_url}/", f"{directory}/server.log", name="pydoc"):
            yield base_url
