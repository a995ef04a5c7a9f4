"""Sealing a session's browser state: AES-GCM under the operator's key, bound to the
user and the session, and the key setting's accepted forms."""

from __future__ import annotations

import base64
import os

import pytest

from shared.config import load_settings
from shared.errors import ConfigError
from shared.sessionstate import (
    StateUnreadable,
    parse_state_key,
    seal,
    session_hash,
    unseal,
)

KEY = bytes(range(32))
STATE = b'{"cookies":[{"name":"member","value":"tok-4f9a1c"}],"origins":[]}'


def test_a_sealed_state_opens_with_its_key_user_and_session() -> None:
    blob = seal(KEY, "alice", "shop", STATE)
    assert b"tok-4f9a1c" not in blob and b"member" not in blob
    assert unseal(KEY, "alice", "shop", blob) == STATE
    assert seal(KEY, "alice", "shop", STATE) != blob  # a fresh nonce each time


@pytest.mark.parametrize(
    ("key", "owner", "session"),
    [
        (bytes(32), "alice", "shop"),  # another key
        (KEY, "bob", "shop"),  # another user's name on the object
        (KEY, "alice", "bank"),  # another session's name
        (KEY, "alic", "eshop"),  # the same characters, split elsewhere
    ],
)
def test_a_sealed_state_does_not_open_elsewhere(key: bytes, owner: str, session: str) -> None:
    blob = seal(KEY, "alice", "shop", STATE)
    with pytest.raises(StateUnreadable):
        unseal(key, owner, session, blob)


def test_a_changed_byte_or_a_foreign_blob_is_refused() -> None:
    blob = bytearray(seal(KEY, "alice", "shop", STATE))
    blob[-20] ^= 1
    with pytest.raises(StateUnreadable):
        unseal(KEY, "alice", "shop", bytes(blob))
    with pytest.raises(StateUnreadable, match="not in a known format"):
        unseal(KEY, "alice", "shop", STATE)


def test_session_names_are_per_user_and_show_no_key() -> None:
    name = session_hash("alice", "shop")
    assert len(name) == 64 and "shop" not in name
    assert name != session_hash("bob", "shop")
    assert session_hash("alic", "eshop") != name


def test_the_state_key_is_hex_or_base64_of_32_bytes() -> None:
    raw = os.urandom(32)
    assert parse_state_key(raw.hex()) == raw
    assert parse_state_key(base64.b64encode(raw).decode()) == raw
    assert parse_state_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    assert parse_state_key("") is None
    for bad in ("short", "ab" * 16, base64.b64encode(os.urandom(16)).decode(), "zz" * 32):
        with pytest.raises(ConfigError, match="BROWSING_STATE_KEY must be 32") as caught:
            parse_state_key(bad)
        assert bad not in caught.value.message


def test_a_bad_state_key_stops_the_start() -> None:
    with pytest.raises(ConfigError, match="BROWSING_STATE_KEY"):
        load_settings({"BROWSING_STATE_KEY": "not-a-key"})
    assert load_settings({"BROWSING_STATE_KEY": KEY.hex()}).state_key == KEY.hex()
