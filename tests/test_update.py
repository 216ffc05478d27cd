"""`copier update` adds and removes back ends in edited projects without losing a line.

Every test runs against a clean clone of the template_clone with its own version tags, never
the working tree.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from projects import (
    SRC,
    base_for,
    cli_update,
    commit_all,
    conflict_leftovers,
    data_args,
    executor_instances,
    generate,
    rename_package,
    run_project_tests,
    tree_differences,
    update,
    update_edited_project,
    with_backends,
)
from questionnaire import BACKENDS, REGISTRY, backend_groups

from support import uv

# Adding each back end to an edited project: test_terminal.py, through the prompts.


# Groups of back ends, each removed in one update (questionnaire.backend_groups says why).
GROUPS = [pytest.param(group, id="+".join(group)) for group in backend_groups()]


@pytest.mark.parametrize("removed", GROUPS)
def test_update_removes_backends_and_keeps_user_edits(
    template_clone: Path, tmp_path: Path, install_project, removed: list[str]
) -> None:
    base = base_for(removed)
    project = update_edited_project(
        template_clone, tmp_path, with_backends(base, removed), base, base
    )

    executors = dict(executor_instances((project / SRC / "executors.py").read_text()))
    readme = (project / "README.md").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    for backend in removed:
        assert backend not in executors
        assert not (project / SRC / "workflows" / f"{backend}.py").exists()
        requirement = REGISTRY[backend].get("requirement")
        assert not requirement or requirement not in pyproject
        assert f"### {backend}\n" not in readme
    run_project_tests(install_project, project)


def test_unedited_update_equals_fresh_copy(template_clone: Path, tmp_path: Path) -> None:
    project = generate(template_clone, tmp_path / "project", ["local"])
    update(project, BACKENDS)
    fresh = generate(template_clone, tmp_path / "fresh", BACKENDS)
    assert tree_differences(project, fresh) == []


def test_update_adds_a_backend_to_a_package_renamed_with_its_answer(
    template_clone: Path, tmp_path: Path, install_project
) -> None:
    project = tmp_path / "p"
    generate(template_clone, project, ["local"])
    rename_package(project, "renamed", in_answers=True)

    run = cli_update(project, *data_args(["local", "slurm"]))

    assert run.returncode == 0, run.stderr
    assert "No conflicts" in run.stdout
    assert conflict_leftovers(project) == []
    assert not (project / SRC).exists()
    package = project / "src" / "renamed"
    assert ("slurm", "SlurmExecutor") in executor_instances((package / "executors.py").read_text())
    assert (package / "workflows" / "slurm.py").is_file()
    run_project_tests(install_project, project)


def test_project_tests_fail_when_the_answers_file_was_edited_by_hand(
    template_clone: Path, tmp_path: Path, install_project
) -> None:
    project = tmp_path / "p"
    generate(template_clone, project, ["local"])
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace("- local\n", "- local\n- dask\n"))

    run = install_project(project).run(
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore"
    )

    assert run.returncode == 1
    assert "1 failed" in run.stdout
    assert "add or remove back ends with `copier update --data ...` (see the README)" in run.stdout


def test_update_adds_a_backend_to_a_project_that_locked_a_dependency_of_its_own(
    template_clone: Path, tmp_path: Path
) -> None:
    """The common edit with uv: a dependency added to pyproject.toml and `uv lock` run.
    The update merges the template's new lock into that one: no conflict, and uv takes
    the result as the lock of the edited project (`uv lock --check`)."""
    project = tmp_path / "p"
    generate(template_clone, project, ["local"])
    pyproject = project / "pyproject.toml"
    own = '# Your own dependencies:\n    "tomli-w",\n'  # not in the stack
    pyproject.write_text(pyproject.read_text().replace("# Your own dependencies:\n", own))
    subprocess.run([uv(), "lock", "--quiet"], cwd=project, check=True)
    commit_all(project, "tomli-w")

    run = cli_update(project, *data_args(["local", "slurm"]))

    assert run.returncode == 0, run.stderr
    assert conflict_leftovers(project) == []
    check = subprocess.run(
        [uv(), "lock", "--check", "--offline"], cwd=project, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    lock = (project / "uv.lock").read_text()
    assert 'name = "tomli-w"' in lock and 'name = "covalent-slurm-plugin"' in lock
