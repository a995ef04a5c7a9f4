"""Ports for the local cluster's servers: free, and outside the kernel's ephemeral range,
from which outgoing connections take their local ports."""

from __future__ import annotations

import socket

from browsing import processes
from browsing.processes import free_port


def test_a_server_port_is_free_and_below_the_ephemeral_range() -> None:
    low = int(processes.EPHEMERAL_RANGE.read_text().split()[0])
    ports = {free_port() for _ in range(20)}
    assert all(processes.SERVER_PORTS_FROM <= port < low for port in ports), ports
    for port in list(ports)[:5]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))  # nothing holds it


def test_a_port_in_use_is_not_handed_out(monkeypatch) -> None:  # noqa: ANN001
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        taken = held.getsockname()[1]
        real = processes.random.randrange
        first = [taken]  # the first draw is the port held above; later ones are random
        monkeypatch.setattr(
            processes.random, "randrange", lambda lo, hi: first.pop() if first else real(lo, hi)
        )
        monkeypatch.setattr(processes, "_ephemeral_low", lambda: 65_000)
        port = free_port()
        assert port != taken and not first


def test_a_port_handed_out_lately_is_not_handed_out_again(monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """Not even when free: its server may not have bound it yet, in another process."""
    monkeypatch.setattr(processes, "RESERVATIONS", tmp_path / "ports")
    monkeypatch.setattr(processes, "_ephemeral_low", lambda: 65_000)
    first = free_port()
    # What every process on the machine reads before drawing.
    assert f"{first} " in (tmp_path / "ports").read_text()
    real = processes.random.randrange
    draws = [first]  # the next draw is that port again, free as it still is
    monkeypatch.setattr(
        processes.random, "randrange", lambda lo, hi: draws.pop() if draws else real(lo, hi)
    )
    second = free_port()
    assert second != first and not draws
    # Once RESERVED_S has passed, the port can be handed out again.
    monkeypatch.setattr(processes.time, "time", lambda: 10**10)
    draws.append(first)
    assert free_port() == first
