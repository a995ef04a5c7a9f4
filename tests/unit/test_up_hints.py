"""What `browsing up`'s ready line tells another terminal about finding the cluster."""

from __future__ import annotations

from pathlib import Path

import pytest

from browsing.cli.up import _egress_line, _hint_for
from browsing.state import data_dir, default_data_dir


def test_a_data_dir_chosen_by_the_environment_is_named_for_the_other_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    chosen = tmp_path / "mine"
    monkeypatch.setenv("BROWSING_DATA_DIR", str(chosen))
    # `BROWSING_DATA_DIR=... make run`: this terminal resolves it, another one does not.
    assert data_dir(None) == chosen
    assert _hint_for(chosen) == f" (with BROWSING_DATA_DIR={chosen})"
    assert _hint_for(default_data_dir()) == ""  # where another terminal looks anyway
    assert _hint_for(None) == ""  # --data-dir none: the runtime directory, found anyway


def test_the_egress_line_names_what_is_allowed_once_something_is() -> None:
    bare = _egress_line("")
    assert "refuse loopback" in bare and "BROWSING_EGRESS_ALLOW=127.0.0.1:8000 make run" in bare
    allowed = _egress_line(" 127.0.0.1:8000, intranet.example ,")
    assert allowed.endswith("except BROWSING_EGRESS_ALLOW: 127.0.0.1:8000, intranet.example")
    assert "make run" not in allowed  # no advice to set what is already set
