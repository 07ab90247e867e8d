"""A spawner for the local hub that starts slowly, fails or stops slowly on request.

The hub imports it by name (`ewatercycle_experiment_launcher.localhub.spawners.
ScriptedSpawner`, see `Hub.scripted_config`). What it does for a user is read at each
start and stop from the JSON file `ScriptedSpawner.script`:
`{"<user>": {"start_delay": 3, "fail": "message", "stop_delay": 2}, "*": {...}}`, so one
hub serves many scenarios, and the delay can change between runs.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Unicode


class ScriptedSpawner(SimpleLocalProcessSpawner):
    script = Unicode("", config=True, help="JSON file with each user's behaviour")

    def _behaviour(self) -> dict:
        try:
            data = json.loads(Path(self.script).read_text())
        except (OSError, ValueError):
            return {}
        return data.get(self.user.name, data.get("*", {}))

    async def start(self):
        behaviour = self._behaviour()
        await asyncio.sleep(behaviour.get("start_delay", 0))
        if behaviour.get("fail"):
            raise RuntimeError(behaviour["fail"])
        return await super().start()

    async def stop(self, now=False):
        await asyncio.sleep(self._behaviour().get("stop_delay", 0))
        return await super().stop(now=now)

    async def progress(self):
        delay = self._behaviour().get("start_delay", 0)
        if delay:
            yield {"progress": 50, "message": f"Scripted start, {delay} s"}
