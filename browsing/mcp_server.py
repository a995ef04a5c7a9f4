"""``browsing mcp``: the browsing API as Model Context Protocol tools, over stdio, so that
agent hosts (IDEs, desktop assistants) can hand browsing tasks to the fleet.

Built on the official MCP Python SDK (``mcp``, its ``MCPServer``, formerly FastMCP), on
top of ``browsing/client.py``: the server is one more client of the gateway's public API,
with the user's API key. Three tools:

- ``browse``: submit a task (``/async``), poll it to the end, and return the result text
  and the screenshots as PNG image content. Status changes go out as progress
  notifications when the host asks for them; a host that cancels the call cancels the
  task too.
- ``task_status``: a task's status body, as JSON text (screenshots on request).
- ``cancel_task``: cancel an unfinished task.

An error of the API (400, 401, 404, 409, 429 ...) or an unreachable gateway becomes a
tool error carrying the API's message; it never ends the server. Only the MCP protocol
goes to stdout (the SDK points file descriptor 1 at stderr while it serves); logs go to
stderr.
"""

from __future__ import annotations

import base64
import functools
import importlib.metadata
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ContentBlock, ImageContent, TextContent, ToolAnnotations
from pydantic import Field

from browsing.client import (
    DEFAULT_POLL_S,
    TERMINAL_STATUSES,
    BrowsingClient,
    ClientError,
    decoded_payload,
    screenshot_names,
)

T = TypeVar("T")

SERVER_NAME = "browsing"
DISTRIBUTION = "browsing-service"  # setup.cfg's name
# Images past this many are listed by name only: each one costs the host's model context.
MAX_IMAGES = 10
LOG_LEVEL = "WARNING"

log = logging.getLogger(__name__)

ScreenshotMode = Literal["final_only", "every_step", "on_navigation"]

INSTRUCTIONS = (
    "Runs web browsing tasks in a real Chromium on a fleet of browsing nodes. `browse` "
    "takes a natural-language instruction (e.g. 'Open https://example.com and return the "
    "title') and returns the result and, on request, screenshots. Long tasks: call "
    "`browse` with wait=false, then `task_status` until the status is completed or failed."
)


def build_server(client: BrowsingClient) -> MCPServer:
    """The MCP server with the three tools, each calling the gateway through ``client``."""
    server: MCPServer = MCPServer(
        SERVER_NAME, instructions=INSTRUCTIONS, version=_version(), log_level=LOG_LEVEL
    )
    tools = _Tools(client)
    server.add_tool(
        tools.browse,
        name="browse",
        description=_described(tools.browse),
        annotations=ToolAnnotations(
            title="Run a browsing task", read_only_hint=False, open_world_hint=True
        ),
        structured_output=False,
    )
    server.add_tool(
        tools.task_status,
        name="task_status",
        description=_described(tools.task_status),
        annotations=ToolAnnotations(title="Show a browsing task's status", read_only_hint=True),
        structured_output=False,
    )
    server.add_tool(
        tools.cancel_task,
        name="cancel_task",
        description=_described(tools.cancel_task),
        annotations=ToolAnnotations(
            title="Cancel a browsing task", destructive_hint=True, idempotent_hint=True
        ),
        structured_output=False,
    )
    return server


def serve(client: BrowsingClient) -> None:
    """Run the server over stdio until the host closes stdin."""
    build_server(client).run("stdio")


class _Tools:
    """The tool functions; their signatures and docstrings are the tools' schemas."""

    def __init__(self, client: BrowsingClient) -> None:
        self.client = client

    async def browse(
        self,
        task: Annotated[
            str,
            Field(
                description="The instruction in natural language, e.g. 'Open "
                "https://example.com and return the title'."
            ),
        ],
        screenshots: Annotated[
            ScreenshotMode | None,
            Field(
                description="Take screenshots: final_only (one, at the end), every_step, "
                "or on_navigation (steps that changed the URL). Default: none, unless the "
                "instruction asks for one."
            ),
        ] = None,
        full_page: Annotated[
            bool | None,
            Field(description="final_only: the whole page (default) or only the viewport."),
        ] = None,
        country_iso: Annotated[
            str | None,
            Field(description="Run on a node of this country (ISO 3166 code, e.g. 'DE')."),
        ] = None,
        node_uid: Annotated[
            str | None,
            Field(description="Run on this node (e.g. 'node.de.01'); not with country_iso."),
        ] = None,
        session_key: Annotated[
            str | None,
            Field(
                description="Tasks with the same session key run on the same node, one at "
                "a time, each starting from the browser state (cookies, localStorage) the "
                "previous successful one left."
            ),
        ] = None,
        timeout_ms: Annotated[
            int | None, Field(description="The task's timeout in milliseconds.")
        ] = None,
        fanout: Annotated[
            int | None,
            Field(description="Race the task on this many nodes; the first to finish wins."),
        ] = None,
        template: Annotated[
            str | None, Field(description="The browsing template (the service's own names).")
        ] = None,
        output_schema: Annotated[
            dict[str, Any] | None,
            Field(
                description="A JSON Schema for structured output: the result then comes "
                "with data matching it (at most 16 KB)."
            ),
        ] = None,
        wait: Annotated[
            bool,
            Field(
                description="Wait for the result (default). False returns the task_id at "
                "once, to follow with task_status."
            ),
        ] = True,
        ctx: Context | None = None,
    ) -> CallToolResult:
        """Run a web browsing task in a real browser and return its result and
        screenshots (PNG images)."""
        options = {
            "screenshots": screenshots,
            "full_page": full_page,
            "country_iso": country_iso,
            "node_uid": node_uid,
            "session_key": session_key,
            "timeout_ms": timeout_ms,
            "fanout": fanout,
            "template": template,
            "output_schema": output_schema,
        }
        with anyio.CancelScope(shield=True):
            # A call cancelled during the submit still learns the task_id, to cancel it.
            task_id = await self._api(self.client.submit, task, **options)
        if not wait:
            return _text(json.dumps({"task_id": task_id}))  # as /async answers
        try:
            body = await self._wait(task_id, ctx)
        except anyio.get_cancelled_exc_class():
            # The host gave up on the call (notifications/cancelled): nobody will read
            # the result, so the task stops too instead of holding a browser.
            with anyio.CancelScope(shield=True):
                await self._cancel_quietly(task_id)
            raise
        if body.get("status") != "completed" or not body.get("success"):
            names = _names_or_none(body)  # the failed attempt's, the last of its failure
            shots = f" (screenshots: {', '.join(names)})" if names else ""
            raise ToolError(
                f"task {task_id} failed: {body.get('error') or body.get('status')}{shots}"
            )
        return CallToolResult(content=[*_result_blocks(body), *await self._images(body)])

    async def task_status(
        self,
        task_id: Annotated[str, Field(description="The task_id, e.g. 'web:0123...'.")],
        include_screenshots: Annotated[
            bool, Field(description="Also return a finished task's screenshots as images.")
        ] = False,
    ) -> CallToolResult:
        """A browsing task's status body as JSON: status (queued, assigned, running,
        completed, failed), timestamps, node, and once finished success, error and the
        payload with the result."""
        body = await self._api(self.client.status, task_id)
        content: list[ContentBlock] = [_json_text(body)]
        if include_screenshots and body.get("status") in TERMINAL_STATUSES:
            content += await self._images(body)
        return CallToolResult(content=content)

    async def cancel_task(
        self, task_id: Annotated[str, Field(description="The task_id, e.g. 'web:0123...'.")]
    ) -> CallToolResult:
        """Cancel an unfinished browsing task; it ends failed with error 'cancelled'. A
        task that has already finished cannot be cancelled."""
        return CallToolResult(content=[_json_text(await self._api(self.client.cancel, task_id))])

    # -- helpers ---------------------------------------------------------------------

    async def _api(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """One blocking client call on a worker thread; its failure is a tool error
        with the API's message (and HTTP status)."""
        try:
            return await anyio.to_thread.run_sync(functools.partial(call, *args, **kwargs))
        except ClientError as exc:
            raise ToolError(str(exc)) from exc

    async def _wait(self, task_id: str, ctx: Context | None) -> dict[str, Any]:
        """Poll until the task ends; each change is a progress notification."""
        seen: tuple[Any, Any] | None = None
        changes = 0
        while True:
            try:
                body = await self._api(self.client.status, task_id)
            except ToolError as exc:
                raise ToolError(f"task {task_id}: {exc}") from exc
            now = (body.get("status"), body.get("queue_position"))
            if now != seen:
                seen, changes = now, changes + 1
                if ctx is not None:
                    await ctx.report_progress(changes, None, _progress_message(task_id, body))
            if now[0] in TERMINAL_STATUSES:
                return body
            await anyio.sleep(DEFAULT_POLL_S)

    async def _cancel_quietly(self, task_id: str) -> None:
        try:
            await self._api(self.client.cancel, task_id)
        except ToolError as exc:  # finished meanwhile (409), or the gateway is gone
            log.warning("could not cancel %s after the call was cancelled: %s", task_id, exc)

    async def _images(self, body: dict[str, Any]) -> list[ContentBlock]:
        """The task's screenshots as PNG image content (the last MAX_IMAGES); one that
        cannot be fetched becomes a note, so the result is not lost with it."""
        task_id = str(body.get("task_id"))
        try:
            names = screenshot_names(body)
        except ClientError as exc:
            return [_text(f"screenshots not shown: {exc}")]
        blocks: list[ContentBlock] = []
        if len(names) > MAX_IMAGES:
            blocks.append(
                _text(
                    f"{len(names)} screenshots, the last {MAX_IMAGES} shown; all of them: "
                    f"browsing screenshots {task_id} -o DIR"
                )
            )
        for name in names[-MAX_IMAGES:]:
            try:
                data = await self._api(self.client.fetch_screenshot, task_id, name)
            except ToolError as exc:
                blocks.append(_text(f"{name} could not be fetched: {exc}"))
                continue
            blocks.append(
                ImageContent(
                    type="image", data=base64.b64encode(data).decode(), mime_type="image/png"
                )
            )
        return blocks


def _version() -> str:
    """The installed package's version, for the host's server list."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        return ""


def _described(tool: Callable[..., Any]) -> str:
    """A tool's docstring on one line, as hosts show a tool's description."""
    return " ".join((tool.__doc__ or "").split())


def _result_blocks(body: dict[str, Any]) -> list[ContentBlock]:
    """The result text first, as the host's model reads it; then where and how it ran."""
    payload = decoded_payload(body)
    result = payload.get("result") if isinstance(payload, dict) else payload
    text = result if isinstance(result, str) else json.dumps(result, indent=2, ensure_ascii=False)
    info = body.get("info") or {}
    facts = [f"task {body.get('task_id')} completed"]
    if info.get("node_uid"):
        facts.append(f"on {info['node_uid']} ({info.get('country')})")
    if body.get("execution_time_ms") is not None:
        facts.append(f"in {body['execution_time_ms']} ms")
    names = _names_or_none(body)
    if names:
        facts.append("screenshots: " + ", ".join(names))
    if isinstance(payload, dict) and payload.get("screenshots_error"):
        facts.append(str(payload["screenshots_error"]))
    blocks = [_text(text), _text("; ".join(facts))]
    if isinstance(payload, dict) and "data" in payload:  # the task had an output_schema
        blocks.insert(1, _text("data: " + json.dumps(payload["data"], ensure_ascii=False)))
    return blocks


def _names_or_none(body: dict[str, Any]) -> list[str]:
    try:
        return screenshot_names(body)
    except ClientError:
        return []


def _progress_message(task_id: str, body: dict[str, Any]) -> str:
    status = body.get("status")
    if status == "queued" and body.get("queue_position") is not None:
        return f"task {task_id}: queued (position {body['queue_position']})"
    node = (body.get("info") or {}).get("node_uid")
    if status in ("assigned", "running") and node:
        return f"task {task_id}: {status} on {node}"
    return f"task {task_id}: {status}"


def _text(text: str) -> TextContent:
    return TextContent(type="text", text=text)


def _json_text(body: dict[str, Any]) -> TextContent:
    return _text(json.dumps(body, indent=2, ensure_ascii=False))
