"""What a worker loads: JupyterHub's OAuth client only once a browser needs a login."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).parents[1]

# A fresh interpreter: this one may have imported JupyterHub for other tests.
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from tests.inprocess import HELLO, PREVIEW, StubHub, make_app

    loaded = lambda: "jupyterhub" in sys.modules
    steps = {"imported": loaded()}
    client = make_app(StubHub({"f0" * 16: "alice"})).test_client()
    steps["created"] = loaded()
    health = client.get("/health").status_code
    hello = client.post(
        "/hello", json=HELLO, headers={**PREVIEW, "Authorization": "token " + "f0" * 16}
    )
    steps["api"] = loaded()
    page = client.get("/launch/hello?notebook.directory=x", follow_redirects=False)
    steps["login"] = loaded()
    print(json.dumps({"steps": steps, "status": [health, hello.status_code, page.status_code]}))
    """
)


def test_the_api_never_imports_jupyterhub_and_a_login_does():
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["status"] == [200, 200, 302]
    assert answer["steps"] == {"imported": False, "created": False, "api": False, "login": True}
