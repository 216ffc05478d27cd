"""Package releases that do not exist yet, and what an environment or a lock holds."""

from __future__ import annotations

import re
import subprocess
import zipfile
from pathlib import Path

from packaging.markers import Marker

from support import uv

FUTURE = "99.0.0"


def fake_future_releases(folder: Path, names: set[str]) -> Path:
    """A wheel of release 99.0.0 of each package, in `folder` (a --find-links folder):
    newer than any real one, no dependencies, and it raises on import, as a breaking
    release would."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        module = re.sub(r"[-.]", "_", name)
        info = f"{module}-{FUTURE}.dist-info"
        with zipfile.ZipFile(folder / f"{module}-{FUTURE}-py3-none-any.whl", "w") as wheel:
            wheel.writestr(f"{module}/__init__.py", 'raise ImportError("a fake future release")\n')
            wheel.writestr(
                f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {FUTURE}\n"
            )
            wheel.writestr(
                f"{info}/WHEEL",
                "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
            )
            wheel.writestr(f"{info}/RECORD", "")
    return folder


def normalize(name: str) -> str:
    """A package name as locks and indexes compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: str, python_only: bool = False) -> set[str]:
    """`name==version` of each requirement line (constraints.txt, `uv export`); with
    `python_only`, only those whose marker holds for the Python running the tests."""
    found = set()
    for line in lines.splitlines():
        requirement, _, marker = line.partition(";")
        if "==" not in requirement or line.startswith("#"):
            continue
        if python_only and marker.strip() and not Marker(marker.strip()).evaluate():
            continue
        name, version = requirement.split("==")
        found.add(f"{normalize(name)}=={version.strip()}")
    return found


def exported(project: Path) -> str:
    """`uv export` of the project's lock: every package with its version and marker."""
    options = ["--frozen", "--all-groups", "--no-hashes", "--no-header", "--no-annotate"]
    return subprocess.run(
        [uv(), "export", "--quiet", *options, "--no-emit-project"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def installed(python: Path) -> set[str]:
    """`name==version` of each package in the environment of `python` (editable ones,
    such as the project itself, aside)."""
    freeze = subprocess.run(
        [uv(), "pip", "freeze", "--python", str(python)], capture_output=True, text=True, check=True
    ).stdout
    return pins("\n".join(line for line in freeze.splitlines() if not line.startswith("-e")))
