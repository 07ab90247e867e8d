"""The README's demo command: it ends with a line to paste, and Ctrl-C leaves nothing."""

from __future__ import annotations

import os
import pwd
import signal
import subprocess
import sys
import time

import requests

from .harness import ROOT


def descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_demo_prints_a_working_link_and_stops_clean(os_user):
    demo = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "demo.py")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines: list[str] = []
    spawned: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            spawned |= descendants(demo.pid)
            if line.startswith("http") and "/lab/workspaces/" in line:
                break
        location = lines[-1].strip()
        account = next(line for line in lines if line.startswith("JupyterHub:"))
        name = account.split("log in as ")[1].split(" / ")[0]
        pwd.getpwnam(name)
        assert "/user/" + name + "/lab/workspaces/" in location
        hub_url = account.split()[1].rstrip("/")
        # The link works: after logging in to the hub, it opens JupyterLab.
        session = requests.Session()
        password = account.split(" / ")[1].rstrip(")\n")
        page = session.get(f"{hub_url}/hub/login", timeout=10)
        xsrf = session.cookies.get("_xsrf")
        session.post(
            f"{hub_url}/hub/login",
            data={"username": name, "password": password, "_xsrf": xsrf},
            timeout=30,
        )
        assert page.status_code == 200
        opened = session.get(location, timeout=60)
        assert opened.status_code == 200 and "JupyterLab" in opened.text
        spawned |= descendants(demo.pid)
    finally:
        demo.send_signal(signal.SIGINT)
        demo.wait(60)
    assert demo.returncode == 0
    time.sleep(1)
    alive = [pid for pid in spawned if os.path.exists(f"/proc/{pid}")]
    assert alive == [], alive
    try:
        pwd.getpwnam(name)
    except KeyError:
        pass
    else:
        raise AssertionError(f"demo account {name} was not removed")
