"""Allowed domains and the schemes a navigation may use."""

from __future__ import annotations

import pytest

from nodes.agent.loop.guard import Guard, domain_allowed
from shared.errors import ActionFailed


@pytest.mark.parametrize(
    ("url", "allowed", "ok"),
    [
        ("https://example.com/a", ["example.com"], True),
        ("https://shop.example.com/a", ["example.com"], True),
        ("https://example.com.evil.test/", ["example.com"], False),
        ("https://notexample.com/", ["example.com"], False),
        ("https://EXAMPLE.com./", ["Example.COM"], True),
        ("https://a.example.com/", ["*.example.com"], True),
        ("http://127.0.0.1:8000/x", ["127.0.0.1"], True),
        ("about:blank", ["example.com"], True),
        ("data:text/html,hi", ["example.com"], True),
        ("file:///etc/passwd", ["example.com"], False),
        ("https://anything.test/", [], True),
    ],
)
def test_domain_allowed(url: str, allowed: list[str], ok: bool) -> None:
    assert domain_allowed(url, [d.lower().removeprefix("*.").rstrip(".") for d in allowed]) is ok
    assert Guard(allowed).allows(url) is ok


def test_navigation_checks() -> None:
    guard = Guard(["example.com"])
    guard.check_navigation("https://www.example.com/")
    with pytest.raises(ActionFailed, match="evil.test is not among the allowed domains"):
        guard.check_navigation("https://evil.test/")
    with pytest.raises(ActionFailed, match="egress refused: file:///etc/passwd uses the file:"):
        Guard().check_navigation("file:///etc/passwd")
    with pytest.raises(ActionFailed, match="only http and https pages can be opened"):
        Guard().check_navigation("blob:https://example.com/1")
    assert not Guard().active and Guard(blocked_types=["image"]).active
