"""Memory and process counts of a process tree, read from /proc (Linux).

RSS counts a page once per process that maps it, so Chromium's processes, which share
most of their code and much of their data, add up to far more than they use. PSS
divides each shared page among the processes mapping it, including processes outside
the tree: code pages of a Chromium started elsewhere on the machine lower ours, by
100 MB and more on a machine others use. "Heap" is the PSS of anonymous and shared
(shmem) memory only: heaps, JS heaps, Chromium's IPC buffers, which processes outside
the tree do not share, so it is the steady figure for a leak.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from browsing.cluster import descendants

# /proc/<pid>/comm, cut at 15 characters: "chromium-headle" is chromium-headless-shell.
CHROMIUM_NAMES = ("chromium", "chrome", "headless_shell", "chromium-headle")


@dataclass(frozen=True, kw_only=True)
class TreeSample:
    processes: int
    chromium: int
    renderers: int
    zombies: int
    rss_mb: float
    pss_mb: float
    heap_mb: float


def _kb_fields(path: str) -> dict[str, int]:
    found: dict[str, int] = {}
    with open(path) as f:
        for line in f:
            name, _, rest = line.partition(":")
            parts = rest.split()
            if len(parts) == 2 and parts[1] == "kB":
                found[name] = int(parts[0])
    return found


def sample_tree(root: int) -> TreeSample:
    processes = chromium = renderers = zombies = 0
    rss_kb = pss_kb = heap_kb = 0
    for pid in (root, *descendants(root)):
        proc = Path(f"/proc/{pid}")
        try:
            if "\nState:\tZ" in (proc / "status").read_text():
                zombies += 1
                continue
            comm = (proc / "comm").read_text().strip()
            cmdline = (proc / "cmdline").read_bytes()
            mem = _kb_fields(str(proc / "smaps_rollup"))  # Linux 4.14 and later
        except (OSError, ValueError):
            continue  # it exited while we looked
        processes += 1
        if comm in CHROMIUM_NAMES:
            chromium += 1
            renderers += b"--type=renderer" in cmdline
        rss_kb += mem.get("Rss", 0)
        pss_kb += mem.get("Pss", 0)
        if "Pss_Anon" in mem:  # Linux 5.13 and later
            heap_kb += mem["Pss_Anon"] + mem.get("Pss_Shmem", 0)
        else:
            heap_kb += mem.get("Private_Dirty", 0)
    return TreeSample(
        processes=processes,
        chromium=chromium,
        renderers=renderers,
        zombies=zombies,
        rss_mb=rss_kb / 1024,
        pss_mb=pss_kb / 1024,
        heap_mb=heap_kb / 1024,
    )


def median_sample(samples: list[TreeSample]) -> TreeSample:
    def med(name: str) -> float:
        return statistics.median(getattr(s, name) for s in samples)

    return TreeSample(
        processes=int(med("processes")),
        chromium=int(med("chromium")),
        renderers=int(med("renderers")),
        zombies=max(s.zombies for s in samples),
        rss_mb=med("rss_mb"),
        pss_mb=med("pss_mb"),
        heap_mb=med("heap_mb"),
    )


def describe(s: TreeSample) -> str:
    zombies = f", {s.zombies} zombies" if s.zombies else ""
    return (
        f"PSS {s.pss_mb:.0f} MB (heap {s.heap_mb:.0f}), RSS {s.rss_mb:.0f} MB; "
        f"{s.processes} processes, {s.chromium} Chromium ({s.renderers} renderers){zombies}"
    )


def children(root: int) -> set[int]:
    """The direct children of ``root`` (a Celery worker's pool processes)."""
    found = set()
    for pid in descendants(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rindex(")") + 2 :].split()[1]) == root:
            found.add(pid)
    return found
