"""Generated projects install, pass their own tests, and those tests can fail."""

from __future__ import annotations

import re

import pytest
from questionnaire import BACKENDS, DEFAULT_BACKENDS, answers_for


def passed(output: str) -> int:
    match = re.search(r"(\d+) passed", output)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("backends", [DEFAULT_BACKENDS, BACKENDS], ids=["default", "all"])
def test_generated_project_installs_and_passes_its_own_tests(
    copie, install_project, backends: list[str]
) -> None:
    result = copie.copy(extra_answers=answers_for(backends, package_name="proj_tests"))
    assert result.exception is None, result.exception
    project = install_project(result.project_dir)

    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")

    assert run.returncode == 0, run.stdout + run.stderr
    assert passed(run.stdout) >= 10 + 4 * len(backends)
    listed = project.run("-m", "proj_tests", "--list")
    assert listed.stdout.split() == sorted(backends)


def test_own_tests_catch_an_executor_built_beside_an_electron(copie, install_project) -> None:
    result = copie.copy(extra_answers=answers_for(DEFAULT_BACKENDS, package_name="proj_stray"))
    workflow = result.project_dir / "src" / "proj_stray" / "workflows" / "local.py"
    workflow.write_text(
        workflow.read_text().replace(
            "simulate = ct.electron(tasks.simulate, executor=executors.local)",
            'simulate = ct.electron(tasks.simulate, executor=ct.executor.DaskExecutor("tcp://x:1"))',
        )
    )
    project = install_project(result.project_dir)

    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")

    assert run.returncode == 1
    assert "workflows/local.py:" in run.stdout  # the stray constructor, by file and line
    assert "test_every_task_of_a_workflow_uses_a_shared_executor[local]" in run.stdout
