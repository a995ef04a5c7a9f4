"""Where a running ``browsing up`` tells the operator commands how to reach its cluster.

``browsing up`` writes ``cluster.json`` in its data directory (or, with ``--data-dir
none``, in ``$XDG_RUNTIME_DIR/browsing-service``) and removes it when it stops. The file
is private (mode 0600): the Redis URL in it may carry a password. ``browsing nodes`` and
``browsing keys`` read it when no ``BROWSING_REDIS_URL`` (or Sentinel) is given, and
ignore a file whose launcher is gone (known by pid and start time, so a reused pid does
not count).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from browsing.processes import start_time
from shared.config import load_settings

STATE_FILE = "cluster.json"
# The settings an operator command takes from the cluster it found.
OPERATOR_SETTINGS = ("BROWSING_REDIS_URL", "BROWSING_NODE_DEAD_AFTER_S")


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/browsing-service``, or ``~/.local/share/browsing-service``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "browsing-service"


def data_dir(given: str | None, env: Mapping[str, str] | None = None) -> Path | None:
    """``--data-dir``, else ``BROWSING_DATA_DIR``, else the default; None for 'none'."""
    chosen = given or load_settings(env).data_dir or str(default_data_dir())
    return None if chosen == "none" else Path(chosen).expanduser()


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/browsing-service``, or a directory of this user's in /tmp."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / "browsing-service"
    return Path(tempfile.gettempdir()) / f"browsing-service-{os.getuid()}"


def state_path(data: Path | None) -> Path:
    return (data if data is not None else runtime_dir()) / STATE_FILE


@dataclass(frozen=True, kw_only=True)
class ClusterState:
    pid: int  # the launcher's
    started: int  # the launcher's start time: with pid, it names that process
    gateway_url: str
    env: dict[str, str] = field(repr=False)  # OPERATOR_SETTINGS as the cluster has them
    workdir: str
    data_dir: str | None
    nodes: list[str]

    def alive(self) -> bool:
        return start_time(self.pid) == self.started


def _private_dir(path: Path) -> None:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise PermissionError(f"{path} belongs to another user")


def read_state(path: Path) -> ClusterState | None:
    """The state in ``path`` if its launcher still runs; None otherwise."""
    try:
        if path.stat().st_uid != os.getuid():
            return None  # someone else's file must not aim our commands at their Redis
        state = ClusterState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    return state if state.alive() else None


def write_state(path: Path, state: ClusterState) -> None:
    """Atomically, readable by this user only. Refuses to replace the file of another
    launcher that still runs."""
    _private_dir(path.parent)
    other = read_state(path)
    if other is not None and other.pid != state.pid:
        raise FileExistsError(f"{path} belongs to the cluster of process {other.pid}")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".cluster-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:  # mkstemp creates it with mode 0600
            json.dump(asdict(state), f, indent=2)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def remove_state(path: Path, pid: int) -> None:
    """Remove the file if it is still this launcher's."""
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()


def find_cluster(env: Mapping[str, str] | None = None) -> ClusterState | None:
    """The running local cluster: the state file in the data directory, then the one in
    the runtime directory (where ``--data-dir none`` puts it)."""
    for path in dict.fromkeys([state_path(data_dir(None, env)), state_path(None)]):
        state = read_state(path)
        if state is not None:
            return state
    return None


def operator_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for an operator command: as given when it names a Redis; else
    with the settings of the running local cluster, if one is found."""
    env = dict(os.environ if env is None else env)
    if env.get("BROWSING_REDIS_URL") or env.get("BROWSING_REDIS_SENTINELS"):
        return env  # a Redis of the operator's own, never mixed with the local cluster's
    state = find_cluster(env)
    if state is None:
        return env
    # An empty variable (BROWSING_REDIS_URL=) is no setting: the cluster's value counts.
    return {**env, **{k: v for k, v in state.env.items() if not env.get(k)}}
