"""The tested stack, locked: every generated project installs exactly what CI tested,
with uv or pip, and keeps doing so after its dependencies release again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from projects import expected_listing, listing, passed_count, private_copy, uv_pip
from questionnaire import BACKENDS, CONFIG, DEFAULT_BACKENDS, REGISTRY
from releases import FUTURE, exported, fake_future_releases, installed, normalize, pins
from stack_lock import (
    STACK_DIR,
    block_dependencies,
    block_name,
    blocks,
    closure,
    owned,
    owned_yaml,
    stack_pyproject,
)

from support import uv

COMBINATIONS = [[backend] for backend in BACKENDS] + [BACKENDS]
# Back ends whose plugin only uv can install (it overrides the plugin's old pins).
UV_ONLY = [name for name, entry in REGISTRY.items() if entry.get("uv_overrides")]
STACK_LOCK = (STACK_DIR / "uv.lock").read_text()


def uv_run(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [uv(), *args], cwd=project, capture_output=True, text=True, env={**os.environ, **env}
    )


def test_stack_lock_is_made_from_the_pins() -> None:
    """includes/stack/ is what `python3 dev.py lock` makes from includes/backends.yml."""
    config = CONFIG
    fix = "run python3 dev.py lock"
    assert (STACK_DIR / "pyproject.toml").read_text() == stack_pyproject(config), fix
    assert (STACK_DIR / "owned.yml").read_text() == owned_yaml(owned(config, STACK_LOCK)), fix
    check = uv_run(STACK_DIR, "lock", "--check", "--offline")
    assert check.returncode == 0, check.stderr
    assert pins((STACK_DIR / "constraints.txt").read_text()) == pins(exported(STACK_DIR))


@pytest.mark.parametrize(
    "backends", COMBINATIONS, ids=lambda b: "+".join(b) if len(b) < 3 else "all"
)
def test_project_lock_is_the_stack_lock_cut_to_its_back_ends(
    rendered, backends: list[str], tmp_path: Path
) -> None:
    project = private_copy(rendered(backends), tmp_path)
    lock = (project / "uv.lock").read_text()

    check = uv_run(project, "lock", "--check", "--offline")
    assert check.returncode == 0, f"uv does not take the rendered lock as its own:\n{check.stderr}"

    # Nothing but what the project needs (uv itself accepts packages nothing needs) ...
    graph = {block_name(b): block_dependencies(b) for b in blocks(lock)}
    root = next(b for b in blocks(lock) if 'source = { editable = "." }' in b)
    assert set(graph) == closure(graph, {block_name(root)})
    # ... and every package exactly as the stack has it, the one CI tests.
    stack_blocks = set(blocks(STACK_LOCK))
    assert [block_name(b) for b in blocks(lock) if b != root and b not in stack_blocks] == []

    # pip's constraints.txt holds the same versions.
    assert pins((project / "constraints.txt").read_text()) == pins(exported(project))


def locked_versions(project: Path) -> set[str]:
    """What the project's lock installs with the Python running the tests."""
    return pins(exported(project), python_only=True)


def default_project_and_future_releases(rendered, tmp_path: Path) -> tuple[Path, set[str], Path]:
    """A copy of the default project, the versions its lock installs with this Python,
    and a folder of fake future releases of everything in it but covalent and
    cloudpickle (the pins that would refuse them anyway)."""
    project = private_copy(rendered(DEFAULT_BACKENDS), tmp_path)
    expected = locked_versions(project)
    names = {pin.split("==")[0] for pin in expected} - {"covalent", "cloudpickle"}
    return project, expected, fake_future_releases(tmp_path / "future", names)


def test_uv_sync_installs_the_lock_when_newer_releases_break(rendered, tmp_path: Path) -> None:
    """A release of any dependency after the project was made cannot reach it: uv sync
    installs the lock, and `uv lock` after an edit keeps it, although fake releases that
    fail on import are newer than everything in it. Without the lock, uv takes them."""
    project, expected, releases = default_project_and_future_releases(rendered, tmp_path)
    future = {"UV_FIND_LINKS": str(releases)}

    unlocked = private_copy(project, tmp_path / "unlocked")
    (unlocked / "uv.lock").unlink()
    relock = uv_run(unlocked, "lock", **future)
    assert relock.returncode == 0, relock.stderr
    assert f'version = "{FUTURE}"' in (unlocked / "uv.lock").read_text(), "the fakes are not taken"

    sync = uv_run(project, "sync", "--locked", "--python", sys.executable, **future)
    assert sync.returncode == 0, sync.stderr
    python = project / ".venv" / "bin" / "python"
    assert installed(python) == expected
    package = next((project / "src").iterdir()).name
    imported = subprocess.run(
        [python, "-c", f"import {package}.executors, {package}.workflows"],
        capture_output=True,
        text=True,
        env={**os.environ, "COVALENT_CONFIG_DIR": str(tmp_path / "covalent")},
    )
    assert imported.returncode == 0, imported.stderr

    pyproject = project / "pyproject.toml"
    own = '# Your own dependencies:\n    "tomli-w",\n'  # a package the stack does not have
    pyproject.write_text(pyproject.read_text().replace("# Your own dependencies:\n", own))
    edited = uv_run(project, "lock", **future)
    assert edited.returncode == 0, edited.stderr
    assert {pin for pin in locked_versions(project) if not pin.startswith("tomli-w==")} == expected


def test_pip_with_constraints_resolves_the_locked_versions(rendered, tmp_path: Path) -> None:
    """The README's pip path (pip 25.1+, constraints.txt) picks the lock's versions over
    newer releases that fail on import (resolved with --dry-run: the same resolution as
    an install, without a minute of pip installing it)."""
    project, expected, future = default_project_and_future_releases(rendered, tmp_path)
    venv = tmp_path / "venv"
    subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    uv_pip(venv / "bin" / "python", "install", "pip>=25.1")
    report = tmp_path / "report.json"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--dry-run"]
    pip += ["--report", str(report), "--find-links", str(future)]

    def resolve(*constraints: str) -> set[str]:
        run = subprocess.run(
            [*pip, *constraints, "-e", ".", "--group", "dev"],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        return {
            f"{normalize(item['metadata']['name'])}=={item['metadata']['version']}"
            for item in json.loads(report.read_text())["install"]
            if not item.get("is_direct")  # the project itself
        }

    assert any(pin.endswith(f"=={FUTURE}") for pin in resolve()), "the fakes are not taken"
    assert resolve("-c", "constraints.txt") == expected


def test_every_back_end_together_installs_with_uv_and_passes_its_own_checks(
    rendered, tmp_path: Path
) -> None:
    """The README's uv path for a project of all the back ends: `uv sync --locked`, then
    its workflows listed, its own tests and lint with `uv run`, as its CI runs them."""
    project = private_copy(rendered(BACKENDS), tmp_path)
    env = {"COVALENT_CONFIG_DIR": str(tmp_path / "covalent"), "HOME": str(tmp_path / "home")}
    sync = uv_run(project, "sync", "--locked", "--python", sys.executable, **env)
    assert sync.returncode == 0, sync.stderr
    package = tomllib.loads((project / "pyproject.toml").read_text())["project"]["name"]
    list_command = ["python", "-m", package.replace("-", "_"), "--list"]  # as its README says
    for _ in range(2):  # uv adds nothing of its own to a command's output, the second time too
        listed = uv_run(project, "run", "--locked", *list_command, **env)
        assert listed.returncode == 0 and listed.stderr == "", listed.stderr
    resources = listing(listed.stdout)
    assert list(resources) == sorted(BACKENDS)
    assert resources == expected_listing(BACKENDS)
    tests = uv_run(project, "run", "--locked", "pytest", "-q", "-p", "no:cacheprovider", **env)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert passed_count(tests.stdout) >= 10 + 4 * len(BACKENDS)
    lint = uv_run(project, "run", "--locked", "ruff", "check", ".", **env)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = uv_run(project, "run", "--locked", "ruff", "format", "--check", ".", **env)
    assert fmt.returncode == 0, fmt.stdout


@pytest.mark.parametrize("backend", UV_ONLY)
def test_pip_install_of_a_project_uv_must_install_stops_with_one_clear_message(
    rendered, backend: str, tmp_path: Path
) -> None:
    """pip cannot override a plugin's old pin: it stops before resolving anything,
    saying what to do, and uv installs the same project."""
    project = private_copy(rendered([backend]), tmp_path)
    venv = tmp_path / "venv"
    subprocess.run(
        [uv(), "venv", "--quiet", "--seed", "--python", sys.executable, str(venv)], check=True
    )
    for target in (["-e", "."], ["."]):
        run = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", *target],
            cwd=project,
            capture_output=True,
            text=True,
        )
        assert run.returncode != 0
        assert "This project installs with uv, not pip" in run.stdout + run.stderr
        assert f"of the {backend} plugin" in run.stdout + run.stderr
        assert "ResolutionImpossible" not in run.stdout + run.stderr
        assert "Collecting" not in run.stdout  # stopped before resolving the stack
    sync = uv_run(project, "sync", "--locked", "--python", sys.executable)
    assert sync.returncode == 0, sync.stderr
