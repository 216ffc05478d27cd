"""Projects made from older releases update to the working tree, answers and edits intact.

Projects made before `slurm_options` became sbatch options store it as a YAML mapping.
Today's validator refuses that, and Copier would then drop the answer silently and take
the default; hooks/migrate_answers.py converts it first. These tests copy a project from
the last release with the old form and update it to the working tree, through the CLI.
"""

from __future__ import annotations

import re
from pathlib import Path

import copier
import pytest
import yaml
from projects import (
    PACKAGE,
    SRC,
    apply_edits,
    check_edits_kept,
    commit_all,
    conflict_leftovers,
    copier_cli,
    generate,
    make_template_clone,
    tree_differences,
)
from questionnaire import BACKENDS, REPO, required_answers

# The last commit whose copier.yml asks slurm_options as a YAML mapping.
MAPPING_RELEASE = "2445f71f7cc6f3816a2b8e1591ace3a19fb709aa"
# The last commit before each back end became one folder (its questions beside its
# snippets) and the examples one sweep bound to each executor.
FOLDER_RELEASE = "505cd741530e3e582a58edad0cf25b8e0175c9e9"
# The last commit before the lock (uv.lock, constraints.txt, uv_build): nine back ends.
UNLOCKED_RELEASE = "f4a118e8302f07a173ba214d05f0ac6bd87c1c2d"
# The last commit whose readiness modules were one per generated executor, which told
# people to copy one for an executor of their own.
NAMED_CHECKS_RELEASE = "65d32b39153a528c13a5d8780c5928431ae20c81"
# The last commit before named resources (<backend>_resources).
SINGLE_RESOURCE_RELEASE = "b613ac05f2bd9901c58d5cfbbce08011bef71470"
# The working tree: the newest release in CHANGELOG.md.
CURRENT = re.search(r"^## (v[\d.]+) ", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
# The back ends those releases offered (oci, ecs and awslambda came with the lock).
OLD_BACKENDS = [b for b in BACKENDS if b not in ("oci", "ecs", "awslambda")]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the template: v1.0.0 to v1.4.0 are those releases, the working tree is
    the newest release the changelog names (CURRENT)."""
    parent = tmp_path_factory.mktemp("template")
    releases = {
        "v1.0.0": MAPPING_RELEASE,
        "v1.1.0": FOLDER_RELEASE,
        "v1.2.0": UNLOCKED_RELEASE,
        "v1.3.0": NAMED_CHECKS_RELEASE,
        "v1.4.0": SINGLE_RESOURCE_RELEASE,
    }
    return make_template_clone(parent, tag=CURRENT, releases=releases)


def update_old_project(template: Path, project: Path, options: dict) -> str:
    """Copy a Slurm project at v1.0.0 with these options, update it to today's; its output."""
    copier.run_copy(
        str(template),
        project,
        data={"backends": ["slurm"], "package_name": "proj", "slurm_options": options}
        | required_answers("slurm"),
        defaults=True,
        unsafe=True,
        vcs_ref="v1.0.0",
        quiet=True,
    )
    run = copier_cli("update", "--trust", "--defaults", str(project))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "No conflicts" in run.stdout
    return run.stdout


def options_in(project: Path) -> str:
    """The options block of the Slurm executor, as the project's jobs get it."""
    source = (project / "src" / "proj" / "executors.py").read_text()
    return source[source.index("options={") : source.index("},", source.index("options={"))]


def test_update_turns_the_old_options_mapping_into_the_same_sbatch_options(
    template: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    output = update_old_project(template, project, {"partition": "debug", "time": "00:30:00"})

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["slurm_options"] == "--partition=debug --time=00:30:00"
    assert f"_commit: {CURRENT}" in (project / ".copier-answers.yml").read_text()
    assert options_in(project) == (
        'options={\n        "partition": "debug",\n        "time": "00:30:00",\n    '
    )
    assert "slurm_options are now sbatch options: --partition=debug --time=00:30:00" in output


def test_update_keeps_what_yaml_made_of_a_time_and_says_to_check_it(
    template: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    # What the old questionnaire stored for {time: 1:30:00}: YAML 1.1 read 5400 minutes.
    output = update_old_project(template, project, {"time": 5400})

    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["slurm_options"] == (
        "--time=5400"
    )
    assert '"time": "5400"' in options_in(project)  # what the jobs got before
    assert "check --time=5400: YAML may have changed what was typed" in output


def test_update_makes_an_option_without_value_a_flag(template: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    output = update_old_project(template, project, {"exclusive": None})

    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["slurm_options"] == (
        "--exclusive"
    )
    assert '"exclusive": ""' in options_in(project)  # was "None", which sbatch refuses
    assert "--exclusive had no value; it is now a flag" in output


@pytest.mark.parametrize(
    ("release", "kept"),
    [
        # Before each back end became one folder; ssh_python_path was python3 by default
        # then, a venv now, and the stored answer stays.
        ("v1.1.0", {"ssh_python_path": "python3"}),
        # Before uv.lock, constraints.txt and uv_build.
        ("v1.2.0", {}),
    ],
)
def test_edited_project_from_an_older_release_updates_without_conflicts(
    template: Path, tmp_path: Path, release: str, kept: dict[str, str]
) -> None:
    project = generate(template, tmp_path / "project", OLD_BACKENDS, vcs_ref=release)
    apply_edits(project, OLD_BACKENDS)
    commit_all(project, "My edits")

    run = copier_cli("update", "--trust", "--defaults", str(project))

    assert run.returncode == 0, run.stdout + run.stderr
    assert "No conflicts" in run.stdout
    assert conflict_leftovers(project) == []
    check_edits_kept(project, OLD_BACKENDS)
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in kept} == kept
    assert (project / "uv.lock").is_file() and (project / "constraints.txt").is_file()
    fresh = generate(template, tmp_path / "fresh", OLD_BACKENDS, vcs_ref=CURRENT, **kept)
    apply_edits(fresh, OLD_BACKENDS)
    assert tree_differences(project, fresh) == []


def test_a_project_from_before_named_resources_updates_with_its_instances_unchanged(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "project", BACKENDS, vcs_ref="v1.4.0")
    apply_edits(project, BACKENDS)
    commit_all(project, "My edits")
    before = (project / SRC / "executors.py").read_text()

    run = copier_cli("update", "--trust", "--defaults", str(project))

    assert run.returncode == 0, run.stdout + run.stderr
    assert "No conflicts" in run.stdout and "Named resources" not in run.stdout
    assert (project / SRC / "executors.py").read_text() == before
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert [answers[f"{b}_resources"] for b in BACKENDS if b != "local"] == [""] * 11


# A second partition, written as the release before told: below the marker line, with
# the job script's path spelt out.
OWN_SLURM = """
slurm_cpu = ct.executor.SlurmExecutor(
    address="login.example.org",
    username="alice",
    ssh_key_file="~/.ssh/id_ed25519",
    options={"partition": "cpu"},
    bashrc_path="~/.venvs/proj_update/covalent-job-env.sh",
)
"""


def test_a_check_copied_for_an_own_executor_keeps_working_and_the_update_names_it(
    template: Path, tmp_path: Path, install_project
) -> None:
    """v1.3.0's readiness/__init__.py said: for a resource of your own, add a module with
    an `async def check()`; copying readiness/slurm.py for it was the way."""
    project = generate(template, tmp_path / "project", ["local", "slurm"], vcs_ref="v1.3.0")
    executors = project / SRC / "executors.py"
    executors.write_text(executors.read_text() + OWN_SLURM)
    readiness = project / SRC / "readiness"
    copied = (readiness / "slurm.py").read_text()
    assert "executor = executors.slurm\n" in copied
    (readiness / "slurm_cpu.py").write_text(
        copied.replace("executors.slurm\n", "executors.slurm_cpu\n")
    )
    commit_all(project, "A CPU partition, with its own check")

    run = copier_cli("update", "--trust", "--defaults", str(project))
    print(f"\n{run.stdout}")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "No conflicts" in run.stdout
    assert f"  git rm src/{PACKAGE}/readiness/slurm_cpu.py\n" in run.stdout
    installed = install_project(project)
    check = installed.run("-m", PACKAGE, "check", "slurm_cpu")
    assert check.stdout.startswith("slurm_cpu: NOT READY: "), check.stdout + check.stderr
    tests = installed.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")
    assert tests.returncode == 0, tests.stdout + tests.stderr
