"""``browsing mcp``, as an agent host runs it: the MCP SDK's own client starts the
command as a subprocess, speaks MCP over its stdin and stdout, and calls the tools against
the real cluster."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import Client
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from browsing.client import BrowsingClient
from browsing.mcp_server import build_server
from tests.conftest import ALICE
from tests.integration.test_client_cli import ROOT, browsing_argv, cli_env, png_size

Progress = list[tuple[float, float | None, str | None]]


@asynccontextmanager
async def mcp_session(
    url: str, key: str, protocol_errors: list[Any]
) -> AsyncIterator[ClientSession]:
    """An initialized client session with ``browsing mcp``; anything on the server's stdout
    that is not an MCP message lands in ``protocol_errors``."""
    argv = browsing_argv()
    params = StdioServerParameters(
        command=argv[0],
        args=[*argv[1:], "mcp"],
        env={"BROWSING_URL": url, "BROWSING_API_KEY": key},
        cwd=ROOT,
    )

    async def on_message(message: Any) -> None:
        if isinstance(message, Exception):
            protocol_errors.append(message)

    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            yield session


def texts(result: Any) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


def test_mcp_browse_returns_the_text_and_a_png_and_the_other_tools_work(cluster, sites):
    async def scenario() -> None:
        errors: list[Any] = []
        async with mcp_session(cluster.base_url, ALICE, errors) as session:
            tools = {tool.name: tool for tool in (await session.list_tools()).tools}
            assert set(tools) == {"browse", "task_status", "cancel_task"}
            browse_args = tools["browse"].input_schema["properties"]
            assert {"task", "screenshots", "full_page", "country_iso", "node_uid"} <= set(
                browse_args
            )
            assert {"session_key", "timeout_ms", "fanout", "template"} <= set(browse_args)

            progress: Progress = []
            result = await session.call_tool(
                "browse",
                {
                    "task": f"Open {sites}/index.html and return a screenshot of the page.",
                    "screenshots": "final_only",
                    "full_page": False,
                    "country_iso": "DE",
                },
                progress_callback=lambda *p: _record(progress, *p),
            )
            assert not result.is_error, texts(result)
            text, facts = texts(result)
            assert text == f"Screenshot of Agent Test Home ({sites}/index.html)"
            assert "on node.de.01 (DE)" in facts and "screenshots: screenshot-01.png" in facts
            (image,) = [block for block in result.content if block.type == "image"]
            assert image.mime_type == "image/png"
            assert png_size(base64.b64decode(image.data)) == (1280, 800)  # the viewport
            task_id = facts.split()[1]
            assert progress and progress[-1][2] == f"task {task_id}: completed", progress
            assert [p[0] for p in progress] == sorted({p[0] for p in progress})  # increasing

            status = await session.call_tool(
                "task_status", {"task_id": task_id, "include_screenshots": True}
            )
            assert not status.is_error, texts(status)
            body = json.loads(texts(status)[0])
            assert body["task_id"] == task_id and body["status"] == "completed"
            assert [block.type for block in status.content] == ["text", "image"]

            finished = await session.call_tool("cancel_task", {"task_id": task_id})
            assert finished.is_error
            assert f"task {task_id} has already finished (HTTP 409)" in texts(finished)[0]

            # wait=false: the task_id at once; then cancel_task stops it.
            started = await session.call_tool("browse", {"task": "Wait 30 seconds", "wait": False})
            waiting_id = json.loads(texts(started)[0])["task_id"]
            cancelled = await session.call_tool("cancel_task", {"task_id": waiting_id})
            assert not cancelled.is_error, texts(cancelled)
            body = json.loads(texts(cancelled)[0])
            assert (body["status"], body["error"]) == ("failed", "cancelled")

            # A host that gives up on a call cancels it: the task is cancelled too. Here
            # the client abandons the call at its first progress notification.
            abandoned: list[str] = []
            with anyio.CancelScope() as call:

                async def give_up(value: float, total: float | None, message: str | None):
                    abandoned.append(str(message).split()[1].rstrip(":"))
                    call.cancel()

                await session.call_tool(
                    "browse", {"task": "Wait 30 seconds"}, progress_callback=give_up
                )
            assert call.cancelled_caught and abandoned, abandoned
            status_body = await anyio.to_thread.run_sync(_wait_finished, cluster, abandoned[0])
            assert (status_body["status"], status_body["error"]) == ("failed", "cancelled")

            # The API's own refusals, as tool errors; the server is still up after them.
            invalid = await session.call_tool(
                "browse", {"task": "Open https://example.com", "fanout": 0}
            )
            assert invalid.is_error and "fanout" in texts(invalid)[0], texts(invalid)
            assert "(HTTP 400)" in texts(invalid)[0]
            failed = await session.call_tool("browse", {"task": "Xyzzy the plugh"})
            assert failed.is_error and re.search(r"task web:\w+ failed: \S", texts(failed)[0])
            unknown = await session.call_tool("task_status", {"task_id": "web:" + "0" * 32})
            assert unknown.is_error and "not found (HTTP 404)" in texts(unknown)[0]
            assert not (await session.call_tool("task_status", {"task_id": task_id})).is_error
        assert not errors, errors

    anyio.run(scenario)


def test_mcp_with_a_bad_key_gets_the_apis_401_as_a_tool_error(cluster):
    """In-process (the SDK's memory transport), against the real gateway: the command's
    own start-up is the test above."""
    server = build_server(BrowsingClient(cluster.base_url, "not-a-key-0123456789"))

    async def scenario() -> None:
        async with Client(server) as session:
            refused = await session.call_tool("browse", {"task": "Open https://example.com"})
            assert refused.is_error
            assert "invalid API key (HTTP 401)" in texts(refused)[0], texts(refused)
            status = await session.call_tool("task_status", {"task_id": "web:" + "0" * 32})
            assert status.is_error and "invalid API key (HTTP 401)" in texts(status)[0]

    anyio.run(scenario)


def test_mcp_without_its_configuration_says_what_is_missing():
    proc = subprocess.run(
        [*browsing_argv(), "mcp"],
        env=cli_env(None, None),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc
    assert proc.stdout == ""  # stdout carries the protocol only
    assert "BROWSING_URL and BROWSING_API_KEY not set" in proc.stderr, proc.stderr


async def _record(progress: Progress, value: float, total: float | None, message: str | None):
    progress.append((value, total, message))


def _wait_finished(cluster, task_id: str) -> dict[str, Any]:
    client = BrowsingClient(cluster.base_url, ALICE)
    deadline = time.monotonic() + 20
    while (body := client.status(task_id))["status"] not in ("completed", "failed"):
        assert time.monotonic() < deadline, body
        time.sleep(0.1)
    return body
