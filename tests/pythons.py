"""The Pythons the generated projects support (copier.yml's requires_python) that this
machine has: the one running the tests, the others from PATH or pyenv's versions."""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
import sys
from pathlib import Path

from questionnaire import CONFIG


def supported_minors() -> list[str]:
    """ "3.10", "3.11", ... within requires_python (">=3.10,<3.13")."""
    spec = CONFIG["requires_python"]["default"]
    low = int(re.search(r">=3\.(\d+)", spec).group(1))
    high = int(re.search(r"<3\.(\d+)", spec).group(1))
    return [f"3.{minor}" for minor in range(low, high)]


def runs(python: str) -> bool:
    """True when this interpreter starts (a pyenv shim of a version not selected does not)."""
    done = subprocess.run([python, "-c", "pass"], capture_output=True, check=False)
    return done.returncode == 0


def available() -> dict[str, Path]:
    """Each supported minor version this machine has, and an interpreter of it."""
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": Path(sys.executable)}
    for minor in supported_minors():
        if minor in found:
            continue
        candidates = [shutil.which(f"python{minor}") or ""]
        candidates += sorted(
            glob.glob(f"{Path.home()}/.pyenv/versions/{minor}.*/bin/python{minor}")
        )
        python = next((c for c in candidates if c and runs(c)), None)
        if python:
            found[minor] = Path(python)
    return {minor: found[minor] for minor in supported_minors() if minor in found}
