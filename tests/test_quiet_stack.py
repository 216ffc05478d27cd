"""Only the project's own words: a project with gcpbatch, the back end whose dependencies
warn the most, prints no warning of the stack from `--list`, `check`, a failed
dispatch or its own test run, on every Python the projects support that this machine
has. Each Python gets the project installed as its README says (`uv sync`, from its
lock) and a Covalent server of its own from that environment.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from projects import InstalledProject, private_copy, uv_pip
from pythons import available

from support import BUILD, CovalentServer, bin_dir, free_port, synced

PYTHONS = available()
PACKAGE = "quiet"
# A line a warning prints: "path:line: SomeWarning: text", or Python's own notes on one.
WARNING = re.compile(r"\w*Warning\b|warnings\.warn|tracemalloc")


# Each Python's tests share one worker (tests/scheduling.py): its project is set up once.
PARAMS = [pytest.param(v, id=f"python{v}") for v in PYTHONS]


@pytest.fixture(scope="module", params=PARAMS)
def project(
    request: pytest.FixtureRequest,
    rendered: Callable[..., Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[InstalledProject]:
    """The project synced from its lock with this Python, its server running."""
    version = request.param
    path = private_copy(
        rendered(["local", "gcpbatch"], package_name=PACKAGE), tmp_path_factory.mktemp("quiet")
    )
    environment = BUILD / f"quiet-python{version}"  # kept while the lock stays the same
    options = ("--no-install-project", "--python", str(PYTHONS[version]))
    python = synced(path, environment, *options)
    uv_pip(python, "install", "--no-deps", "--reinstall-package", PACKAGE, str(path))
    root = tmp_path_factory.mktemp(f"covalent-{version}")
    # The project's back ends (local, gcpbatch) never use the server's own Dask cluster.
    server = CovalentServer(bin_dir(environment), root, free_port(), ["--no-cluster"])
    with server:
        yield InstalledProject(python, path, server.env)


def warnings_in(run: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in (run.stdout + run.stderr).splitlines() if WARNING.search(line)]


def test_list_check_and_a_failed_dispatch_print_no_warning(project: InstalledProject) -> None:
    listed = project.run("-m", PACKAGE, "--list")
    checked = project.run("-m", PACKAGE, "check")
    dispatched = project.run("-m", PACKAGE, "gcpbatch")
    print(f"\n{listed.stdout}{checked.stdout}{dispatched.stdout}{dispatched.stderr}")

    assert listed.returncode == 0, listed.stderr
    assert checked.returncode == 1  # no Google credentials here
    assert "gcpbatch: NOT READY: no Application Default Credentials" in checked.stdout
    assert dispatched.returncode == 1
    assert "failed on gcpbatch: " in dispatched.stderr, dispatched.stdout + dispatched.stderr
    assert warnings_in(listed) + warnings_in(checked) + warnings_in(dispatched) == []


def test_the_projects_own_test_run_prints_no_warning(project: InstalledProject) -> None:
    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider")

    assert run.returncode == 0, run.stdout + run.stderr
    assert warnings_in(run) == [], run.stdout
    assert re.search(r"^\d+ passed in ", run.stdout.splitlines()[-1]), run.stdout
