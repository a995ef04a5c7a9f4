"""A minimal OpenAI-compatible chat-completions client over urllib.

It speaks only ``POST {base_url}/chat/completions``, which OpenAI, vLLM,
Ollama, llama.cpp and LiteLLM all serve. Transient failures (connection
errors, 429, 5xx) are retried a few times within the task's deadline;
everything else becomes PlannerFailed, or ToolsRejected when the server
refuses the ``tools`` field (so the planner can fall back to plain JSON).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from nodes.agent.llm.config import LLMSettings
from nodes.agent.llm.usage import LLMUsage
from shared.errors import DeadlineExceeded, PlannerFailed

HTTP_RETRIES = 2
RETRY_PAUSE_S = 0.5
# Leave this much of the deadline for the run to finish its step and report.
DEADLINE_MARGIN_S = 0.5


class ToolsRejected(PlannerFailed):
    """The model server does not accept tool definitions."""


class ImagesRejected(PlannerFailed):
    """The model server (or model) does not accept image input."""


_IMAGE_WORDS = ("image", "vision", "multimodal", "multi-modal")


def _detail(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    try:
        error = json.loads(text).get("error")
        text = error.get("message", text) if isinstance(error, dict) else str(error or text)
    except (ValueError, AttributeError):
        pass
    return " ".join(text.split())[:300]


class ChatClient:
    def __init__(
        self,
        settings: LLMSettings,
        deadline: float,
        usage: LLMUsage | None = None,
        max_tokens_total: int | None = None,
    ) -> None:
        self.settings = settings
        self.deadline = deadline  # a time.monotonic() value
        self.usage = usage if usage is not None else LLMUsage()
        self.max_tokens_total = max_tokens_total
        self.url = settings.base_url.rstrip("/") + "/chat/completions"

    def _timeout_s(self) -> float:
        left = self.deadline - time.monotonic() - DEADLINE_MARGIN_S
        if left <= 0:
            raise DeadlineExceeded("timed out waiting for the language model")
        return min(self.settings.timeout_s, left)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.settings.api_key:
            headers["Authorization"] = f"Bearer {self.settings.api_key}"
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=self._timeout_s()) as response:
            return json.loads(response.read())

    def complete(self, messages: list[dict[str, Any]], tools: list[dict] | None) -> dict:
        """The reply's message (``content`` and/or ``tool_calls``)."""
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
            **self.settings.sampling(),
        }
        if tools:
            body["tools"] = tools
        self.usage.check_budget(self.max_tokens_total)
        images = any(isinstance(m.get("content"), list) for m in messages)
        failure = ""
        for attempt in range(HTTP_RETRIES + 1):
            if attempt:
                time.sleep(min(RETRY_PAUSE_S * attempt, max(0.0, self._timeout_s() / 2)))
            try:
                reply = self._post(body)
            except urllib.error.HTTPError as exc:
                detail = _detail(exc.read())
                failure = f"the model server answered {exc.code}: {detail}"
                if exc.code == 429 or exc.code >= 500:
                    continue
                rejected = exc.code in (400, 404, 413, 415, 422, 501)
                if images and rejected and any(w in detail.lower() for w in _IMAGE_WORDS):
                    raise ImagesRejected(failure) from exc
                if tools and exc.code in (400, 404, 422, 501) and "tool" in detail.lower():
                    raise ToolsRejected(failure) from exc
                raise PlannerFailed(failure) from exc
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                self._timeout_s()  # a timeout at the deadline is the task's timeout
                reason = getattr(exc, "reason", exc)
                failure = f"could not reach the model server at {self.url}: {reason}"
                continue
            except ValueError as exc:
                raise PlannerFailed(f"the model server sent invalid JSON: {exc}") from exc
            spent = reply.get("usage") if isinstance(reply, dict) else None
            self.usage.add(self.settings.model, spent)
            try:
                return dict(reply["choices"][0]["message"])
            except (KeyError, IndexError, TypeError) as exc:
                raise PlannerFailed(
                    f"the model server sent no message: {str(reply)[:200]}"
                ) from exc
        raise PlannerFailed(failure)
