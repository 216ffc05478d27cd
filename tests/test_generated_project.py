"""Generated projects install, pass their own tests, and those tests can fail."""

from __future__ import annotations

from pathlib import Path

from projects import expected_listing, listing, passed_count, private_copy
from questionnaire import DEFAULT_BACKENDS


def test_generated_project_installs_and_passes_its_own_tests(
    rendered, install_project, tmp_path: Path
) -> None:
    """The default project in the shared stack; test_lock runs the one with every back
    end the way its README says (`uv sync`, `uv run`)."""
    # A copy: running its tests writes their bytecode into it.
    path = private_copy(rendered(DEFAULT_BACKENDS, package_name="proj_tests"), tmp_path)
    project = install_project(path)

    run = project.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")

    assert run.returncode == 0, run.stdout + run.stderr
    assert passed_count(run.stdout) >= 10 + 4 * len(DEFAULT_BACKENDS)
    resources = listing(project.run("-m", "proj_tests", "--list").stdout)
    assert list(resources) == sorted(DEFAULT_BACKENDS)
    assert resources == expected_listing(DEFAULT_BACKENDS)


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
