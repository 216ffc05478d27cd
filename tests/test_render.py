"""Every back end renders alone and with all the others, as clean, lint-free code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from projects import executor_instances, ruff_problems, template_debris
from questionnaire import BACKENDS, CONFIG, DEFAULT_BACKENDS, REGISTRY

COMBINATIONS = {
    **{backend: [backend] for backend in BACKENDS},
    "default": DEFAULT_BACKENDS,
    "all": BACKENDS,
}


@pytest.fixture(params=list(COMBINATIONS), ids=list(COMBINATIONS))
def project(request: pytest.FixtureRequest, rendered) -> tuple[list[str], Path]:
    """A combination's project, rendered once for all the tests here (they only read it)."""
    backends = COMBINATIONS[request.param]
    return backends, rendered(backends)


def package_dir(path: Path) -> Path:
    return path / "src" / "my_covalent_workflows"


def test_executors_module_has_one_instance_per_chosen_backend(project) -> None:
    backends, path = project
    source = (package_dir(path) / "executors.py").read_text()
    generated, user_part = source.split("# --- Your own executors", 1)
    assert executor_instances(generated) == [(b, REGISTRY[b]["executor_class"]) for b in backends]
    assert executor_instances(user_part) == []


def test_each_chosen_backend_gets_its_workflow_and_nothing_else(project) -> None:
    backends, path = project
    modules = sorted(p.stem for p in (package_dir(path) / "workflows").glob("*.py"))
    assert modules == sorted([*backends, "__init__"])
    for backend in backends:
        source = (package_dir(path) / "workflows" / f"{backend}.py").read_text()
        assert f"workflow = sweep_on(executors.{backend}, light=executors." in source
        assert "ct.executor." not in source, "workflows must not build executors"


def test_dependencies_are_the_pinned_stack_plus_chosen_plugins(project) -> None:
    backends, path = project
    pyproject = tomllib.loads((path / "pyproject.toml").read_text())
    expected = [item["requirement"] for item in CONFIG["covalent_requirements"]["default"]]
    expected += [REGISTRY[b]["requirement"] for b in backends if REGISTRY[b].get("requirement")]
    assert pyproject["project"]["dependencies"] == expected


def test_answers_file_records_backends_in_choice_order(project) -> None:
    backends, path = project
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    assert answers["backends"] == backends
    assert not {key for key in answers if key in ("backend_registry", "stdlib_modules")}


def test_readme_has_a_section_per_chosen_backend(project) -> None:
    backends, path = project
    readme = (path / "README.md").read_text()
    assert re.findall(r"^### ([a-z0-9]+)$", readme, flags=re.MULTILINE) == backends


def test_slurm_jobs_source_the_venv_script_only_without_conda(rendered) -> None:
    plain = (rendered(["slurm"]) / "src/my_covalent_workflows/executors.py").read_text()
    conda = rendered(["slurm"], slurm_conda_env="science")
    executors = (conda / "src/my_covalent_workflows/executors.py").read_text()
    assert 'bashrc_path=slurm_venv("~/.venvs/my_covalent_workflows"),' in plain
    assert 'conda_env="science",' in executors and "bashrc_path" not in executors
    assert "slurm_venv" not in executors.split("# --- Your own executors")[0]
    assert (
        "setup slurm` creates (or repairs) the virtualenv" not in (conda / "README.md").read_text()
    )


def test_rendered_text_has_no_template_debris(project) -> None:
    _, path = project
    assert template_debris(path) == []


def test_rendered_code_is_lint_clean_and_formatted(project, ruff: Path) -> None:
    _, path = project
    assert ruff_problems(ruff, path) == ""
