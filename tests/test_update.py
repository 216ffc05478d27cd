"""`copier update` adds and removes back ends in edited projects without losing a line.

Every test runs against a clean clone of the template with its own version tags, never
the working tree.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BACKENDS, REGISTRY
from projects import (
    SRC,
    apply_edits,
    base_for,
    check_edits_kept,
    commit_all,
    conflict_leftovers,
    generate,
    make_template_clone,
    run_project_tests,
    tree_differences,
    update,
    with_backend,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template_clone(tmp_path_factory.mktemp("template"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_update_adds_backend_and_keeps_user_edits(
    template: Path, tmp_path: Path, install_project, backend: str
) -> None:
    base = base_for(backend)
    target = with_backend(base, backend)
    project = generate(template, tmp_path / "project", base)
    apply_edits(project, base)
    commit_all(project, "My edits")

    update(project, target)

    assert conflict_leftovers(project) == []
    check_edits_kept(project, base)
    executors = (project / SRC / "executors.py").read_text()
    assert f"\n{backend} = ct.executor.{REGISTRY[backend]['executor_class']}(" in executors
    assert (project / SRC / "workflows" / f"{backend}.py").is_file()
    requirement = REGISTRY[backend]["requirement"]
    assert not requirement or f'"{requirement}"' in (project / "pyproject.toml").read_text()
    assert f"### {backend}\n" in (project / "README.md").read_text()

    # Same tree as a fresh copy with these answers plus the same edits.
    fresh = generate(template, tmp_path / "fresh", target)
    apply_edits(fresh, base)  # the same edits, made on a fresh copy
    assert tree_differences(project, fresh) == []

    run_project_tests(install_project, project)


@pytest.mark.parametrize("backend", BACKENDS)
def test_update_removes_backend_and_keeps_user_edits(
    template: Path, tmp_path: Path, install_project, backend: str
) -> None:
    base = base_for(backend)
    project = generate(template, tmp_path / "project", with_backend(base, backend))
    apply_edits(project, base)
    commit_all(project, "My edits")

    update(project, base)

    assert conflict_leftovers(project) == []
    check_edits_kept(project, base)
    executors = (project / SRC / "executors.py").read_text()
    assert f"\n{backend} = ct.executor." not in executors
    assert not (project / SRC / "workflows" / f"{backend}.py").exists()
    requirement = REGISTRY[backend]["requirement"]
    assert not requirement or requirement not in (project / "pyproject.toml").read_text()

    fresh = generate(template, tmp_path / "fresh", base)
    apply_edits(fresh, base)
    assert tree_differences(project, fresh) == []

    run_project_tests(install_project, project)


def test_unedited_update_equals_fresh_copy(template: Path, tmp_path: Path) -> None:
    project = generate(template, tmp_path / "project", ["local"])
    update(project, BACKENDS)
    fresh = generate(template, tmp_path / "fresh", BACKENDS)
    assert tree_differences(project, fresh) == []
