"""Datasette (a data browser, from PyPI) serving a small SQLite database made here.

``serve_datasette()`` writes ``solar.db`` (tables ``planets`` and ``missions``, the
missions searchable with SQLite's full-text search) into a temporary directory, starts
``datasette serve`` on it and yields where it answers and where the database is, so a
check can read the answers from the data itself.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from browsing.processes import free_port
from tests.sites.process import serve_process

PLANETS = (  # name, moons, mean diameter in km, has rings
    ("Mercury", 0, 4879, 0),
    ("Venus", 0, 12104, 0),
    ("Earth", 1, 12742, 0),
    ("Mars", 2, 6779, 0),
    ("Jupiter", 95, 139820, 1),
    ("Saturn", 146, 116460, 1),
    ("Uranus", 28, 50724, 1),
    ("Neptune", 16, 49244, 1),
)
MISSIONS = (  # name, launch year, agency, target planet, summary
    (
        "Mariner 10",
        1973,
        "NASA",
        "Mercury",
        "First spacecraft to visit Mercury, using a Venus flyby.",
    ),
    ("Venera 7", 1970, "Soviet Union", "Venus", "First soft landing on another planet."),
    (
        "Viking 1",
        1975,
        "NASA",
        "Mars",
        "Lander that returned the first images from the Martian surface.",
    ),
    (
        "Galileo",
        1989,
        "NASA",
        "Jupiter",
        "Orbited Jupiter for eight years and dropped a probe into it.",
    ),
    (
        "Cassini",
        1997,
        "NASA/ESA",
        "Saturn",
        "Orbited Saturn for thirteen years; carried the Huygens probe.",
    ),
    ("Juno", 2011, "NASA", "Jupiter", "Polar orbiter studying the interior of Jupiter."),
    (
        "Rosalind Franklin",
        2028,
        "ESA",
        "Mars",
        "Rover that will drill two metres under the surface of Mars.",
    ),
    ("BepiColombo", 2018, "ESA/JAXA", "Mercury", "Two orbiters travelling together to Mercury."),
)


@dataclass(frozen=True)
class Datasette:
    base_url: str
    database: Path  # solar.db, opened read-only by the server

    def query(self, sql: str, *params: object) -> list[tuple]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()


def make_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE planets (
                id INTEGER PRIMARY KEY, name TEXT, moons INTEGER, diameter_km INTEGER,
                has_rings INTEGER
            );
            CREATE TABLE missions (
                id INTEGER PRIMARY KEY, name TEXT, launched INTEGER, agency TEXT,
                target INTEGER REFERENCES planets(id), summary TEXT
            );
            CREATE VIRTUAL TABLE missions_fts USING fts5(
                name, summary, content="missions", content_rowid="id"
            );
            """
        )
        db.executemany(
            "INSERT INTO planets (name, moons, diameter_km, has_rings) VALUES (?, ?, ?, ?)",
            PLANETS,
        )
        for name, launched, agency, target, summary in MISSIONS:
            db.execute(
                "INSERT INTO missions (name, launched, agency, target, summary) "
                "VALUES (?, ?, ?, (SELECT id FROM planets WHERE name = ?), ?)",
                (name, launched, agency, target, summary),
            )
        db.execute(
            "INSERT INTO missions_fts (rowid, name, summary) SELECT id, name, summary FROM missions"
        )


@contextmanager
def serve_datasette() -> Iterator[Datasette]:
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="datasette-") as directory:
        database = Path(directory) / "solar.db"
        make_database(database)
        base_url = f"http://127.0.0.1:{port}"
        argv = [sys.executable, "-m", "datasette", "serve", str(database), "-h", "127.0.0.1"]
        argv += ["-p", str(port)]
        with serve_process(
            argv, f"{base_url}/-/versions.json", f"{directory}/server.log", name="datasette"
        ):
            yield Datasette(base_url, database)
