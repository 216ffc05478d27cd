"""Generated projects install, pass their own tests, and those tests can fail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from projects import private_copy
from questionnaire import BACKENDS, DEFAULT_BACKENDS


def passed(output: str) -> int:
    match = re.search(r"(\d+) passed", output)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("backends", [DEFAULT_BACKENDS, BACKENDS], ids=["default", "all"])
def test_generated_project_installs_and_passes_its_own_tests(
    rendered, install_project, tmp_path: Path, backends: list[str]
) -> None:
    # A copy: running its tests writes their bytecode into it.
    project = install_project(private_copy(rendered(backends, package_name="proj_tests"), tmp_path))

    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")

    assert run.returncode == 0, run.stdout + run.stderr
    assert passed(run.stdout) >= 10 + 4 * len(backends)
    listed = project.run("-m", "proj_tests", "--list").stdout.splitlines()
    resources = dict(line.split(maxsplit=1) for line in listed)
    assert list(resources) == sorted(backends)
    # Each runs its sweep on its own back end, summarised on the light one.
    assert resources == {b: f"on {', '.join(dict.fromkeys(['local', b]))}" for b in backends}


def test_own_tests_catch_an_executor_built_beside_an_electron(
    rendered, install_project, tmp_path: Path
) -> None:
    path = private_copy(rendered(DEFAULT_BACKENDS, package_name="proj_stray"), tmp_path)
    workflow = path / "src" / "proj_stray" / "workflows" / "__init__.py"
    workflow.write_text(
        workflow.read_text().replace(
            "simulate = ct.electron(tasks.simulate, executor=executor)",
            'simulate = ct.electron(tasks.simulate, executor=ct.executor.DaskExecutor("tcp://x:1"))',
        )
    )
    project = install_project(path)

    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")

    assert run.returncode == 1
    assert "workflows/__init__.py:" in run.stdout  # the stray constructor, by file and line
    assert "test_every_task_of_a_workflow_uses_a_shared_executor[local]" in run.stdout
