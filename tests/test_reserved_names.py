"""includes/reserved-names.yml refuses every name the Covalent stack and stdlib install.

A package name that equals an installed distribution or import name breaks the generated
project (pip refuses `pydantic` beside Covalent's own requirement; `test` shadows the
standard library's package). The names come from tests/reserved_names.py, run in the
shared stack's Python, so a new pin or plugin that brings new names fails here. That
Copier refuses such names, and with which message, is in tests/bad_answers.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from questionnaire import CONFIG, REPO
from reserved_names import COMMAND

LISTS = ("python_keywords", "stdlib_modules", "shadowed_modules")


def test_every_installed_and_stdlib_name_is_refused(stack_python: Path) -> None:
    computed = json.loads(
        subprocess.run(
            [str(stack_python), str(REPO / "tests" / "reserved_names.py"), "--json"],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    )
    # The computation itself works: an empty result would pass everything below.
    assert {"covalent", "pydantic", "fastapi"} <= set(computed["stack"])
    assert {"json", "test", "idlelib"} <= set(computed["stdlib"])

    refused = {name for key in LISTS for name in CONFIG[key]["default"]}
    missing = {kind: sorted(set(names) - refused) for kind, names in computed.items()}
    if any(missing.values()):
        pytest.fail(
            "includes/reserved-names.yml misses names a package must not take:\n"
            + "".join(f"  {kind}: {', '.join(names)}\n" for kind, names in missing.items() if names)
            + f"regenerate it with: {COMMAND}",
            pytrace=False,
        )
