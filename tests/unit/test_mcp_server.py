"""``browsing mcp``'s configuration and tool schemas, and a gateway that cannot be reached,
through the SDK's in-process client (tests/integration/test_mcp.py runs the real command
against a real cluster)."""

from __future__ import annotations

import json
import typing

import anyio
import pytest
from mcp import Client

from browsing.cli.mcp import client_from_env
from browsing.client import ClientError
from browsing.cluster import free_port
from browsing.mcp_server import ScreenshotMode, _result_blocks, build_server
from shared.request import SCREENSHOT_MODES


def test_the_tool_offers_the_screenshot_modes_the_gateway_accepts():
    assert typing.get_args(ScreenshotMode) == SCREENSHOT_MODES


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, "BROWSING_URL and BROWSING_API_KEY not set"),
        ({"BROWSING_URL": "http://127.0.0.1:8080"}, "BROWSING_API_KEY not set"),
        ({"BROWSING_API_KEY": "k", "BROWSING_URL": ""}, "BROWSING_URL not set"),
    ],
)
def test_both_settings_are_required(environ, missing):
    with pytest.raises(ClientError, match=missing):
        client_from_env(environ)


def test_a_gateway_url_without_http_is_refused():
    with pytest.raises(ClientError, match="must start with http:// or https://"):
        client_from_env({"BROWSING_URL": "127.0.0.1:8080", "BROWSING_API_KEY": "k"})


def test_an_unreachable_gateway_is_a_tool_error_not_a_crash():
    client = client_from_env(
        {"BROWSING_URL": f"http://127.0.0.1:{free_port()}", "BROWSING_API_KEY": "k"}
    )

    async def scenario() -> None:
        async with Client(build_server(client)) as mcp:
            assert mcp.server_info is not None and mcp.server_info.name == "browsing"
            assert mcp.instructions and "wait=false" in mcp.instructions
            tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
            assert set(tools) == {"browse", "task_status", "cancel_task"}
            assert tools["task_status"].annotations.read_only_hint is True
            mode = tools["browse"].input_schema["properties"]["screenshots"]["anyOf"][0]
            assert tuple(mode["enum"]) == SCREENSHOT_MODES
            schema = tools["browse"].input_schema["properties"]["output_schema"]
            assert schema["anyOf"][0]["type"] == "object"
            for name, arguments in (
                ("browse", {"task": "Open https://example.com"}),
                ("task_status", {"task_id": "web:" + "0" * 32}),
                ("cancel_task", {"task_id": "web:" + "0" * 32}),
            ):
                result = await mcp.call_tool(name, arguments)
                assert result.is_error, (name, result)
                assert "cannot reach the browsing gateway" in result.content[0].text
            invalid = await mcp.call_tool("browse", {"task": "x", "screenshots": "sometimes"})
            assert invalid.is_error and "screenshots" in invalid.content[0].text

    anyio.run(scenario)


def test_a_results_data_is_a_block_of_its_own():
    payload = json.dumps({"result": "It costs 3", "screenshots": [], "data": {"price": 3}})
    body = {"task_id": "web:x", "status": "completed", "success": True, "payload": payload}
    blocks = [block.text for block in _result_blocks(body)]
    assert blocks[:2] == ["It costs 3", 'data: {"price": 3}']
