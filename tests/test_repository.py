"""The template repository's own code meets the standard it sets for generated code."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support import REPO, bin_dir


def test_template_code_is_lint_clean_and_formatted(stack_python: Path) -> None:
    ruff = str(bin_dir(stack_python.parent.parent) / "ruff")
    for command in ([ruff, "check", "."], [ruff, "format", "--check", "."]):
        run = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr
