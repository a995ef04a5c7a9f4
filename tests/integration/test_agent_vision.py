"""Vision: the LLM planner's observation carries a bounded JPEG of the viewport with the
element indices drawn on it, as the template's ``vision`` says; the scripted stub checks
the image parts it receives, and a server that rejects images is handled per mode."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from playwright.sync_api import BrowserContext

from nodes.agent import AgentResult, PlannerFailed, ScreenshotPolicy, run_agent
from nodes.agent.observation.vision import MAX_IMAGE_BYTES
from tests.support.llm_stub import (
    HttpError,
    Reply,
    ScriptedLLM,
    call,
    element_index,
    images,
    serve_llm_stub,
)

REJECTED = HttpError(400, "image input is not supported by this model")


def run(
    context: BrowserContext, script: list[Reply], vision: str | None
) -> tuple[AgentResult | PlannerFailed, ScriptedLLM]:
    with serve_llm_stub(script) as stub:
        template: dict[str, Any] = {"planner": "llm"}
        template["llm"] = {"base_url": stub.base_url, "model": "m"}
        if vision is not None:
            template["vision"] = vision
        try:
            result: AgentResult | PlannerFailed = run_agent(
                context,
                "Fill in the form",
                policy=ScreenshotPolicy(),
                deadline=time.monotonic() + 45,
                template=template,
            )
        except PlannerFailed as exc:
            result = exc
    assert not stub.errors, stub.errors
    return result, stub


def magenta_pixels(context: BrowserContext, data_url: str) -> tuple[int, int, int]:
    """(width, height, pixels of the label colour) of the image, decoded by Chromium;
    the size is checked against the context's viewport here."""
    page = context.new_page()
    try:
        width, height, count = tuple(
            page.evaluate(
                """async (url) => {
                  const img = new Image(); img.src = url; await img.decode();
                  const c = document.createElement('canvas');
                  c.width = img.width; c.height = img.height;
                  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
                  const d = g.getImageData(0, 0, c.width, c.height).data;
                  let n = 0;
                  for (let i = 0; i < d.length; i += 4) {
                    if (d[i] > 180 && d[i + 1] < 70 && d[i + 2] > 70 && d[i + 2] < 180) n++;
                  }
                  return [img.width, img.height, n];
                }""",
                data_url,
            )
        )
        assert page.viewport_size == {"width": width, "height": height}  # not the full page
        return width, height, count
    finally:
        page.close()


def test_vision_on_sends_a_bounded_labelled_screenshot(
    context: BrowserContext, base_url: str
) -> None:
    def fill(request: dict[str, Any]) -> dict[str, Any]:
        return call("input_text", index=element_index(request, "textbox", "Full name"), text="Ada")

    script: list[Reply] = [
        call("navigate", url=f"{base_url}/form.html"),
        fill,
        call("done", text="filled", success=True),
    ]
    result, stub = run(context, script, "on")
    assert isinstance(result, AgentResult) and result.result == "filled"
    sent = [images(r) for r in stub.requests]
    assert [len(s) for s in sent] == [1, 1, 1]
    shot = sent[1][0]
    assert shot.startswith("data:image/jpeg;base64,")
    jpeg = base64.b64decode(shot.split(",", 1)[1])
    assert jpeg[:2] == b"\xff\xd8" and len(jpeg) <= MAX_IMAGE_BYTES
    _, _, labelled = magenta_pixels(context, shot)
    assert labelled > 200  # the index labels and boxes are drawn
    # The overlay is gone before the model acts: the typed text landed in the form.
    assert (
        '[1] textbox "Full name" value="Ada"'
        in stub.requests[2]["messages"][-1]["content"][0]["text"]
    )


def test_vision_auto_falls_back_to_text_when_the_server_rejects_images(
    context: BrowserContext, base_url: str
) -> None:
    script: list[Reply] = [
        REJECTED,
        call("navigate", url=f"{base_url}/form.html"),
        call("done", text="fine", success=True),
    ]
    result, stub = run(context, script, "auto")
    assert isinstance(result, AgentResult) and result.result == "fine"
    assert [len(images(r)) for r in stub.requests] == [1, 0, 0]


@pytest.mark.parametrize("vision", [None, "off"])
def test_no_images_unless_the_template_asks(
    context: BrowserContext, base_url: str, vision: str | None
) -> None:
    script: list[Reply] = [call("done", text="fine", success=True)]
    _, stub = run(context, script, vision)
    assert isinstance(stub.requests[0]["messages"][-1]["content"], str)


def test_vision_on_fails_clearly_when_the_server_rejects_images(context: BrowserContext) -> None:
    failed, stub = run(context, [REJECTED], "on")
    assert isinstance(failed, PlannerFailed)
    assert str(failed).startswith(
        "the model server answered 400: image input is not supported by this model "
        "(the template's vision is on"
    )
    assert len(stub.requests) == 1
