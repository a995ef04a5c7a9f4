"""A scripted OpenAI-compatible chat-completions server, for driving the LLM planner.

It answers ``POST /v1/chat/completions`` with the next reply of its script and
records every request body, so a test can check what the planner sent (the
observation with its URL and indexed elements) and script replies that read
it (``element_index``). A reply is a message dict, a callable that builds one
from the request, or ``HttpError`` to answer with an error status instead.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Message = dict[str, Any]


@dataclass(frozen=True)
class HttpError:
    status: int
    message: str


Reply = Message | HttpError | Callable[[dict[str, Any]], "Message | HttpError"]


def tool_calls(*calls: tuple[str, dict[str, Any]], raw_arguments: bool = False) -> Message:
    """An assistant message calling tools; ``raw_arguments`` sends the strings as given."""
    return {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if raw_arguments else json.dumps(args),
                },
            }
            for i, (name, args) in enumerate(calls, start=1)
        ],
    }


def call(name: str, **arguments: Any) -> Message:
    return tool_calls((name, arguments))


def text(content: str) -> Message:
    return {"role": "assistant", "content": content}


def _last_user(request: dict[str, Any]) -> Any:
    return [m for m in request["messages"] if m["role"] == "user"][-1]["content"]


def observation(request: dict[str, Any]) -> str:
    """The text of the last user message: the planner's latest observation (its text
    parts, when it comes with a screenshot)."""
    content = _last_user(request)
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if p.get("type") == "text")
    return str(content)


def images(request: dict[str, Any]) -> list[str]:
    """The image URLs (data URLs) of the last user message."""
    content = _last_user(request)
    if not isinstance(content, list):
        return []
    return [p["image_url"]["url"] for p in content if p.get("type") == "image_url"]


def element_index(request: dict[str, Any], role: str, name: str) -> int:
    """The index the latest observation gives the element with this role and name."""
    seen = observation(request)
    found = re.search(rf"^\[(\d+)\] {re.escape(role)} {re.escape(json.dumps(name))}", seen, re.M)
    if found is None:
        raise AssertionError(f"no {role} {name!r} in the observation:\n{seen}")
    return int(found.group(1))


# What the stub reports in each answer's ``usage``, unless it is told otherwise.
USAGE = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}


class ScriptedLLM:
    def __init__(self, script: list[Reply], usage: dict[str, int] | None = USAGE) -> None:
        self.script = list(script)
        self.usage = usage
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []  # failures inside reply callables, for the test to show
        self.base_url = ""
        self._lock = threading.Lock()

    def next_reply(self, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if not self.script:
                return 500, {"error": {"message": "the stub's script is exhausted"}}
            reply = self.script.pop(0)
        try:
            if callable(reply):
                reply = reply(request)
        except Exception as exc:  # surfaced to the test through ``errors``
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return 500, {"error": {"message": f"stub script failed: {exc}"}}
        if isinstance(reply, HttpError):
            return reply.status, {"error": {"message": reply.message}}
        body = {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "model": request.get("model", ""),
            "choices": [{"index": 0, "message": reply, "finish_reason": "tool_calls"}],
        }
        if self.usage is not None:
            body["usage"] = dict(self.usage)
        return 200, body


def _handler(stub: ScriptedLLM) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._answer(404, {"error": {"message": f"no route {self.path}"}})
                return
            length = int(self.headers.get("Content-Length") or 0)
            request = json.loads(self.rfile.read(length) or b"{}")
            request["_authorization"] = self.headers.get("Authorization", "")
            self._answer(*stub.next_reply(request))

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def serve_llm_stub(
    script: list[Reply], usage: dict[str, int] | None = USAGE
) -> Iterator[ScriptedLLM]:
    """Serve the script on 127.0.0.1; ``stub.base_url`` is the API root (…/v1).
    Every answer reports ``usage`` (None: none)."""
    stub = ScriptedLLM(script, usage)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="llm-stub", daemon=True)
    thread.start()
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def form_task_script(base_url: str) -> list[Reply]:
    """A model's replies for: send the contact form (tests/sites/form.html) as Ada from
    London, favourite colour blue, and return what the result page received."""

    def fill(request: dict[str, Any]) -> Message:
        def index(role: str, name: str) -> int:
            return element_index(request, role, name)

        return tool_calls(
            ("input_text", {"index": index("textbox", "Full name"), "text": "Ada"}),
            ("input_text", {"index": index("textbox", "City"), "text": "London"}),
            ("select_option", {"index": index("combobox", "Favourite colour"), "option": "Blue"}),
        )

    def answer(request: dict[str, Any]) -> Message:
        received = re.search(r"Form received.*", observation(request), re.S)
        if received is None:
            raise AssertionError(f"not on the result page:\n{observation(request)}")
        return call("done", text=received.group(0), success=True)

    return [
        call("navigate", url=f"{base_url}/form.html"),
        fill,
        lambda request: call("click", index=element_index(request, "button", "Send")),
        answer,
    ]
