"""The JupyterHub releases the local hub can run, each from a venv of its own.

The hub, its users' `jupyterhub-singleuser` and JupyterLab all come from the release's
venv; the launcher always runs from the one running this code. `.venv` holds the 6.x
release of requirements_dev.txt, `.venv-hub5` the newest 5.5 (scripts/hub-venv.sh).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from .checkout import BIN, ROOT


@dataclass(frozen=True)
class HubRelease:
    """A venv with JupyterHub and JupyterLab installed."""

    venv: Path

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    def installed(self, package: str = "jupyterhub") -> str | None:
        """The version of `package` in the venv, read without running its Python."""
        if self.venv == BIN.parent:
            try:
                return metadata.version(package)
            except metadata.PackageNotFoundError:
                return None
        paths = [str(p) for p in self.venv.glob("lib/python*/site-packages")]
        for dist in metadata.distributions(name=package, path=paths):
            return dist.version
        return None

    @property
    def version(self) -> str | None:
        return self.installed()

    @property
    def major(self) -> int:
        return int((self.version or "0").split(".")[0])

    @property
    def id(self) -> str:
        """How tests name it, e.g. `hub5.5.4`."""
        return f"hub{self.version}" if self.version else f"hub-missing-{self.venv.name}"

    def ready(self) -> bool:
        return (self.bin / "jupyterhub").exists() and (self.bin / "jupyterhub-singleuser").exists()


CURRENT = HubRelease(BIN.parent)
HUB5 = HubRelease(ROOT / ".venv-hub5")
# Every release a matrix test runs against, the current one first.
MATRIX = (CURRENT, HUB5)
