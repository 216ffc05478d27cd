"""The generated commit hooks (.pre-commit-config.yaml): they pass on a fresh project
with every back end, offline, and stop a private key and unformatted code.

They run as a person runs them after `uv sync`, `uv run pre-commit run --all-files`,
with the shared stack's environment standing in for the project's own: it is synced
from the same lock (uv.lock of a project is that lock cut to its back ends).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from projects import git, private_copy
from questionnaire import BACKENDS

# Not a real key: the shape detect-private-key looks for.
PLANTED_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n"


@pytest.fixture
def project(rendered: Callable[..., Path], tmp_path: Path) -> Path:
    return private_copy(rendered(BACKENDS), tmp_path)


def commit_hooks(project: Path, stack_python: Path, home: Path) -> subprocess.CompletedProcess:
    """`uv run pre-commit run --all-files` in the project, offline."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # uv
        "UV_PROJECT_ENVIRONMENT": str(stack_python.parent.parent),
        "UV_OFFLINE": "1",
        "PRE_COMMIT_HOME": str(home),
    }
    return subprocess.run(
        ["uv", "run", "--no-sync", "pre-commit", "run", "--all-files", "--color=never"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def failed_hooks(run: subprocess.CompletedProcess) -> list[str]:
    return [line.split("..")[0] for line in run.stdout.splitlines() if line.endswith("Failed")]


def test_the_commit_hooks_pass_on_a_fresh_project_offline(
    project: Path, stack_python: Path, tmp_path: Path
) -> None:
    run = commit_hooks(project, stack_python, tmp_path / "pre-commit")
    assert run.returncode == 0, run.stdout + run.stderr
    hooks = [line.split("..")[0] for line in run.stdout.splitlines() if line.endswith("Passed")]
    assert hooks == [
        "ruff check",
        "ruff format",
        "YAML syntax",
        "TOML syntax",
        "no large files",
        "no private keys",
    ]


def test_the_commit_hooks_stop_a_private_key_and_unformatted_code(
    project: Path, stack_python: Path, tmp_path: Path
) -> None:
    (project / "deploy_key").write_text(PLANTED_KEY)
    tasks = next(project.glob("src/*/tasks.py"))
    tasks.write_text(tasks.read_text() + "\nSCALE={ 'x':1 }\n")
    git(project, "add", "deploy_key", str(tasks))

    run = commit_hooks(project, stack_python, tmp_path / "pre-commit")

    assert run.returncode == 1
    assert failed_hooks(run) == ["ruff format", "no private keys"], run.stdout
    assert "Private key found: deploy_key" in run.stdout
    assert 'SCALE = {"x": 1}' in tasks.read_text()  # formatted, for the person to commit
