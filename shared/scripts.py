"""Lua scripts sent in pipelines.

redis-py's own pipeline support asks SCRIPT EXISTS before every pipeline that holds a
script, one more round trip each time. Here scripts go as EVALSHA; a Redis that lost its
scripts (restarted, or SCRIPT FLUSH) answers NOSCRIPT to each without running it, and the
pipeline is sent again once they are loaded. So only for pipelines whose other commands
can safely run twice, such as reads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.client import Pipeline
from redis.commands.core import Script
from redis.exceptions import NoScriptError


def evalsha(pipe: Pipeline, script: Script, keys: Sequence[str], args: Sequence[Any]) -> None:
    pipe.evalsha(script.sha, len(keys), *keys, *args)


def run(client: redis.Redis, build: Callable[[Pipeline], None], scripts: Sequence[Script]) -> list:
    """Execute the pipeline ``build`` fills (one round trip); see the module's note."""

    def send() -> list:
        pipe = client.pipeline(transaction=False)
        build(pipe)
        return pipe.execute()

    try:
        return send()
    except NoScriptError:
        for script in scripts:
            script.sha = client.script_load(script.script)
        return send()
