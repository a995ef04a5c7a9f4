"""Run a third-party web application as a child process until a test or bench is done with it."""

from __future__ import annotations

import subprocess
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from browsing.processes import wait_until

REPO_ROOT = Path(__file__).resolve().parents[2]  # where ``tests`` is importable


@contextmanager
def serve_process(
    argv: Sequence[str], ready_url: str, log_path: str, *, name: str, timeout_s: float = 90
) -> Iterator[None]:
    """Start ``argv``, wait until ``ready_url`` answers, and stop it on the way out.

    Its output goes to ``log_path``; the end of it is in the error when it exits early.
    Its standard input stays an open pipe: some servers (``pydoc -p``) quit at its end.
    """
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT
        )
        try:
            try:
                answers = lambda: urllib.request.urlopen(ready_url, timeout=2)  # noqa: E731
                wait_until(name, answers, timeout_s, proc)
            except RuntimeError:  # it exited: say why, from the end of its output
                log.flush()
                output = Path(log_path).read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{name} exited: {output}") from None
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
            if proc.stdin:
                proc.stdin.close()
