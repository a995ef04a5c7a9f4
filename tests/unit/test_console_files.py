"""The console's files as shipped, read from the package (no server needed)."""

from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "gateway" / "console" / "static"


def test_the_console_files_hold_no_inline_script_style_or_remote_url():
    """What the CSP forbids would break the page; what it allows must stay local."""
    page = (STATIC / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert not re.search(r"\son[a-z]+=|\sstyle=|<style", page)
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(r"https?://(?!example\.com|www\.w3\.org/2000/svg)", text), path.name
        if path.suffix == ".js":
            assert "innerHTML" not in text and "eval(" not in text, path.name
            assert "localStorage.setItem" not in text and "document.cookie" not in text
