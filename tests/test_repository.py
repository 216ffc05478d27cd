"""The template repository's own code meets the standard it sets for generated code."""

from __future__ import annotations

from pathlib import Path

from projects import ruff_problems

from support import REPO


def test_template_code_is_lint_clean_and_formatted(ruff: Path) -> None:
    assert ruff_problems(ruff, REPO) == ""
