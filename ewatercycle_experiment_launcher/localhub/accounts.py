"""Throw-away OS accounts, so that logins go through real PAM."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass


@dataclass
class OSUser:
    """A real account on this host, with a password that PAM checks."""

    name: str
    password: str

    @classmethod
    def create(cls, prefix: str = "elt") -> OSUser:
        name = f"{prefix}{secrets.token_hex(4)}"
        password = "pw-" + secrets.token_urlsafe(12)
        subprocess.run(
            ["useradd", "--no-create-home", "--shell", "/bin/false", name],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            ["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True
        )
        return cls(name, password)

    def remove(self) -> None:
        subprocess.run(["userdel", "--force", self.name], capture_output=True)

    @property
    def auth(self) -> tuple[str, str]:
        return (self.name, self.password)
