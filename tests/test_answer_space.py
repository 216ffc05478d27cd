"""Every answer the validators accept makes a working project (property-based).

Hypothesis draws whole questionnaires from the validators' own rules (answer_strategies),
renders each with Copier as `copier copy --data ... --defaults` would, and checks what a
person would find: every answer stored as typed, code that parses, no template_files debris,
`ruff check` and `ruff format --check` clean as rendered, executors that build with the
right class and settings, and workflow graphs whose every task runs on a shared
executor. A sample of the drawn projects is also installed and runs its own tests.

CI runs a fixed sample (the "ci" profile in answer_strategies.py); for a long exploration run

    HYPOTHESIS_PROFILE=explore HYPOTHESIS_EXAMPLES=2000 \
        python3 dev.py test tests/test_answer_space.py
Failures found that way become regular tests below or in test_questions.py.
"""

from __future__ import annotations

import ast
import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from answer_strategies import answers, parse_named_resources, parse_sbatch_options
from hypothesis import event, given, reject, settings
from projects import (
    InstalledProject,
    distributions,
    git,
    ruff_problems,
    template_debris,
    uv_pip,
)
from questionnaire import BACKENDS, REGISTRY, is_asked, required_answers

from support import covalent_env

# A tenth of the examples, at least three: each installs a project and runs its tests.
OWN_TEST_EXAMPLES = max(3, settings.default.max_examples // 10)


def render(template_files: Path, destination: Path, data: dict[str, Any]) -> Path:
    """Render these answers; discard the example when a drawn answer is refused.

    A refusal of an answer that was *not* drawn (a default derived from other answers,
    such as the package name from the project name) is a defect, and fails.
    """
    try:
        copier.run_copy(
            str(template_files), destination, data=data, defaults=True, quiet=True, skip_tasks=True
        )
    except ValueError as error:
        refused = re.search(r"question '(\w+)'", str(error))
        if refused and refused.group(1) in data:
            reject()
        raise
    return destination


def check_answers_stored_as_typed(project: Path, data: dict[str, Any]) -> dict[str, Any]:
    stored = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert stored["backends"] == [b for b in BACKENDS if b in data["backends"]]
    for name, value in data.items():
        if name != "backends" and is_asked(name, stored):
            assert stored[name] == value, f"{name}: typed {value!r}, stored {stored[name]!r}"
    return stored


def check_text_and_syntax(project: Path, package: str) -> None:
    assert template_debris(project) == []
    wanted = yaml.safe_load((project / ".copier-answers.yml").read_text())["update_pull_requests"]
    workflow = project / ".github" / "workflows" / "template-update.yml"
    assert workflow.is_file() == wanted, "the update workflow is there iff it was wanted"
    for path in project.rglob("*.py"):
        ast.parse(path.read_text(), filename=str(path.relative_to(project)))
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["name"] == package.replace("_", "-")
    assert (project / "src" / package / "executors.py").is_file()


def check_executors_build(project: Path, stored: dict[str, Any], project_probe) -> None:
    package, backends = stored["package_name"], stored["backends"]
    reply = project_probe(project / "src", package, backends)
    assert reply["ok"], reply["error"]
    for backend in backends:
        assert reply["executors"][backend]["class"] == REGISTRY[backend]["executor_class"]
        workflow = reply["workflows"][backend]
        assert workflow["tasks"] == workflow["on_shared_executors"] >= 5
    if "slurm" in backends and stored["slurm_options"].strip():
        options = reply["executors"]["slurm"]["attributes"]["options"]
        options.setdefault("parsable", "")  # the plugin adds it to every job's options
        expected = {"parsable": ""} | parse_sbatch_options(stored["slurm_options"])
        assert options == expected, "the options are not what was typed"
    for backend in backends:
        check_named_resources(reply, backend, stored)


def check_named_resources(reply: dict[str, Any], backend: str, stored: dict[str, Any]) -> None:
    """Each named resource: an instance of its back end's class, used by its example,
    with its own settings over its back end's (slurm: option by option)."""
    named = parse_named_resources(stored.get(f"{backend}_resources") or "")
    base = reply["executors"][backend]["attributes"]
    if named:
        event(f"named resources of {backend}")  # seen with --hypothesis-show-statistics
    for name, own in named.items():
        instance = reply["executors"].get(f"{backend}_{name}")
        assert instance, f"{backend}_{name} is not in executors.py"
        assert instance["class"] == REGISTRY[backend]["executor_class"]
        assert f"{backend}_{name}" in reply["workflows"][backend]["on"]
        attributes = instance["attributes"]
        if backend == "slurm":
            expected = base["options"] | own  # the plugin's parsable is in both
            assert attributes["options"] == expected, f"{name}: not the options typed"
        else:
            for key, value in own.items():  # paths as the plugins expand them: the SSH
                got = str(attributes.get(key, value))  # plugin resolves a key file's path
                expanded = os.path.expanduser(value)  # against the directory it runs in
                ways = (value, expanded, os.path.normpath(expanded), os.path.abspath(expanded))
                assert got in ways, f"{name} --{key}"
        different = {k for k, v in attributes.items() if v != base.get(k)}
        assert different, f"{backend}_{name} is {backend} again"


@given(data=answers())
def test_every_accepted_answer_renders_a_clean_project_whose_executors_build(
    data: dict[str, Any], template_files: Path, ruff: Path, project_probe
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = render(template_files, Path(folder) / "project", data)
        stored = check_answers_stored_as_typed(project, data)
        check_text_and_syntax(project, stored["package_name"])
        assert ruff_problems(ruff, project) == ""
        check_executors_build(project, stored, project_probe)


@settings(max_examples=OWN_TEST_EXAMPLES)
@given(data=answers())
def test_sampled_accepted_answers_make_projects_that_pass_their_own_tests(
    data: dict[str, Any], template_files: Path, stack_python: Path
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        project = render(template_files, Path(folder) / "project", data)
        pyproject = tomllib.loads((project / "pyproject.toml").read_text())
        name = pyproject["project"]["name"]
        uv_pip(stack_python, "install", "--no-deps", str(project))
        env = covalent_env(Path(folder) / "covalent")
        installed = InstalledProject(stack_python, project, env, distributions(pyproject))
        try:
            run = installed.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")
        finally:
            uv_pip(stack_python, "uninstall", name)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]


# Defects of the accepted answer space, found by trying and by Hypothesis, kept as tests.


@pytest.mark.parametrize(
    ("project_name", "offered"),
    [
        ("Statistics", "statistics_workflows"),  # the standard library's name
        ("Class", "class_workflows"),  # a keyword
        ("Dask", "dask_workflows"),  # installed by the Covalent stack
        ("Test", "test_workflows"),  # the standard library's test package
        ("Pydantic", "pydantic_workflows"),  # its distribution would clash with covalent's
        ("Conftest", "conftest_workflows"),  # the project's tests import conftest
        ("Étude des protéines", "etude_des_proteines"),
        ("42 Answers", "answers"),
        ("量子 Chemistry", "chemistry"),
        (
            "Protein folding sweeps on the departmental Slurm cluster and AWS Batch, 2026",
            "protein_folding_sweeps_on_the",  # cut at a word, at most 40 characters
        ),
    ],
)
def test_offered_package_name_is_accepted_whatever_the_project_name(
    template_files: Path, tmp_path: Path, project_name: str, offered: str
) -> None:
    project = render(template_files, tmp_path / "p", {"project_name": project_name})

    stored = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert stored["package_name"] == offered
    assert (project / "src" / offered / "executors.py").is_file()


def test_longest_accepted_answers_render_lint_clean_with_every_backend(
    template_files: Path, tmp_path: Path, ruff: Path, project_probe
) -> None:
    long_path = "~/" + "/".join(["d" * 30] * 6)
    data = {
        "backends": BACKENDS,
        "project_name": ("Protein folding sweeps " * 4)[:80],
        "package_name": "p" + "_abcdefgh" * 6 + "xxxxx",
        "description": "Déroulement des calculs quantiques 量子化学 " * 4,
        **{name: value for b in BACKENDS for name, value in required_answers(b).items()},
        "ssh_hostname": "h" * 120 + ".example.org",
        "ssh_remote_workdir": long_path,
        "slurm_venv": long_path,
        "slurm_options": " ".join(f"--opt{i}={'v' * 70}" for i in range(5)),
        "hpc_remote_python_exe": "/" + "/".join(["d" * 30] * 6) + "/bin/python3.11",
        "dask_scheduler_address": "tcp://" + "h" * 150 + ":8786",
    }
    assert len(data["project_name"]) == 80 and len(data["package_name"]) == 60
    project = render(template_files, tmp_path / "p", data)

    stored = check_answers_stored_as_typed(project, data)
    check_text_and_syntax(project, stored["package_name"])
    assert ruff_problems(ruff, project) == ""
    check_executors_build(project, stored, project_probe)


def test_slurm_options_reach_the_executor_exactly_as_typed(
    template_files: Path, tmp_path: Path, project_probe
) -> None:
    # YAML 1.1 read {time: 1:30:00} as 5400 minutes, {exclusive: } as "None" and
    # {partition: on} as "True".
    typed = "--time=1:30:00 --exclusive --partition=on --mail-type=END,FAIL --output=job-%j.out"
    data = {"backends": ["slurm"], **required_answers("slurm"), "slurm_options": typed}
    project = render(template_files, tmp_path / "p", data)

    stored = check_answers_stored_as_typed(project, data)
    reply = project_probe(project / "src", stored["package_name"], ["slurm"])
    assert reply["executors"]["slurm"]["attributes"]["options"] == {
        "time": "1:30:00",
        "exclusive": "",
        "partition": "on",
        "mail-type": "END,FAIL",
        "output": "job-%j.out",
        "parsable": "",  # the plugin's own, on every job
    }


@pytest.mark.parametrize("package", ["build", "dist"])
def test_a_package_named_like_a_build_folder_is_committed(
    template_clone: Path, tmp_path: Path, package: str
) -> None:
    """The generated .gitignore once ignored build/ and dist/ at any depth."""
    project = tmp_path / "p"
    copier.run_copy(
        str(template_clone),
        project,
        data={"package_name": package},
        defaults=True,
        unsafe=True,
        vcs_ref="v1.0.0",
        quiet=True,
    )

    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert f"src/{package}/executors.py" in git(project, "ls-files").split()
