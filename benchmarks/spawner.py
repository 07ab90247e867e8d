"""The benchmark hub's spawner: waits a scripted delay, then points the hub at the shared
stand-in server (`benchmarks.standin_server`), or starts a real `jupyterhub-singleuser`.

Imported by the hub as `benchmarks.spawner.StandInSpawner` (the local hub puts the
repository root on the hub's PYTHONPATH). What it does for a user is read at each start
from the same JSON script file as `localhub.spawners.ScriptedSpawner`:
`{"<user>": {"start_delay": 3, "real": false}, "*": {...}}`.
"""

from __future__ import annotations

import asyncio

from jupyterhub.spawner import SimpleLocalProcessSpawner
from traitlets import Bool, Unicode

from ewatercycle_experiment_launcher.localhub.spawners import ScriptedSpawner


class StandInSpawner(ScriptedSpawner):
    standin_url = Unicode(
        "", config=True, help="URL of the stand-in server, e.g. http://127.0.0.1:8765"
    )
    on_standin = Bool(False)

    async def start(self):
        behaviour = self._behaviour()
        delay = behaviour.get("start_delay", 0)
        if delay:
            await asyncio.sleep(delay)
        if behaviour.get("fail"):
            raise RuntimeError(behaviour["fail"])
        if behaviour.get("real") or not self.standin_url:
            self.on_standin = False
            return await SimpleLocalProcessSpawner.start(self)
        self.on_standin = True
        return self.standin_url

    async def poll(self):
        if self.on_standin:
            return None
        return await super().poll()

    async def stop(self, now=False):
        if self.on_standin:
            self.on_standin = False
            return
        return await super().stop(now=now)

    def get_state(self):
        state = super().get_state()
        if self.on_standin:
            state["standin"] = True
        return state

    def load_state(self, state):
        super().load_state(state)
        self.on_standin = bool(state.get("standin"))

    def clear_state(self):
        super().clear_state()
        self.on_standin = False
