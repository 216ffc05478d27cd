"""The hooks, through Copier's own command line as people run it: trust, git, conflicts.

pytest-copie always trusts the template, so these tests call the `copier` CLI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import answers_for
from projects import PACKAGE, apply_edits, commit_all, git, make_template_clone

COPIER = str(Path(sys.executable).parent / "copier")


def copier_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COPIER, *args], capture_output=True, text=True, env=env or dict(os.environ)
    )


def copy(
    template: Path, project: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`copier copy --defaults` of a local-only project, with these options."""
    return copier_cli(
        "copy", "--defaults", *options, *data_args(["local"]), str(template), str(project), env=env
    )


def data_args(backends: list[str]) -> list[str]:
    """The answers for these back ends as --data options."""
    args = []
    for key, value in answers_for(backends, package_name=PACKAGE).items():
        args += ["--data", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
    return args


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template_clone(tmp_path_factory.mktemp("template"))


def test_copy_without_trust_fails_with_copiers_message(template: Path, tmp_path: Path) -> None:
    run = copy(template, tmp_path / "p")

    assert run.returncode != 0
    assert "--trust" in run.stderr and "tasks" in run.stderr
    assert not (tmp_path / "p").exists()


def test_copy_with_skip_tasks_needs_no_trust_and_leaves_git_to_you(
    template: Path, tmp_path: Path
) -> None:
    run = copy(template, tmp_path / "p", "--skip-tasks")

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "p" / "src" / PACKAGE / "executors.py").is_file()
    assert not (tmp_path / "p" / ".git").exists()


def test_copy_with_trust_makes_a_repository_with_a_first_commit(
    template: Path, tmp_path: Path
) -> None:
    run = copy(template, tmp_path / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert "ready for `copier update`" in run.stdout
    assert git(tmp_path / "p", "log", "--format=%s").strip() == "Start project from copier-covalent"
    assert git(tmp_path / "p", "status", "--porcelain") == ""
    assert f"python -m {PACKAGE}" in run.stdout + run.stderr  # how to run it


def test_copy_without_git_identity_succeeds_and_says_how_to_commit(
    template: Path, tmp_path: Path
) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tuseConfigOnly = true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", EMAIL="")

    run = copy(template, tmp_path / "p", "--trust", env=env)

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "p" / ".git").is_dir()
    assert 'git config --global user.name "Your Name"' in run.stdout
    assert "git commit" in run.stdout


def test_copy_inside_a_repository_does_not_nest_another(template: Path, tmp_path: Path) -> None:
    git(tmp_path, "init", "--quiet")

    run = copy(template, tmp_path / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "p" / ".git").exists()
    assert "commit the new files there" in run.stdout


def test_copy_into_a_folder_the_outer_repository_ignores_gets_its_own(
    template: Path, tmp_path: Path
) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / ".gitignore").write_text("/build/\n")

    run = copy(template, tmp_path / "build" / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "build" / "p" / ".git").is_dir()


def test_update_fails_loudly_naming_the_conflicted_file(template: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    copy(template, project, "--trust")
    pyproject = project / "pyproject.toml"
    # A dependency added right where the template puts plugins: both sides change the
    # same lines, which no merge can settle.
    pyproject.write_text(
        pyproject.read_text().replace(
            "    # One executor plugin per back end that needs one.\n",
            '    # One executor plugin per back end that needs one.\n    "scipy",\n',
        )
    )
    commit_all(project, "Add scipy in the wrong place")

    run = copier_cli(
        "update",
        "--defaults",
        "--trust",
        "--vcs-ref=:current:",
        *data_args(["local", "ssh"]),
        str(project),
    )

    assert run.returncode != 0
    assert "copier update left conflicts in:\n  pyproject.toml" in run.stderr


def test_update_needs_trust_even_with_skip_tasks(template: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    copy(template, project, "--trust")
    args = ["update", "--defaults", "--vcs-ref=:current:", *data_args(["local", "dask"])]

    refused = copier_cli(*args, "--skip-tasks", str(project))
    trusted = copier_cli(*args, "--skip-tasks", "--trust", str(project))

    assert refused.returncode != 0 and "--trust" in refused.stderr
    assert trusted.returncode == 0, trusted.stderr
    assert "Back ends" not in trusted.stdout  # --skip-tasks skipped the post-update hook
    assert (
        "dask = ct.executor.DaskExecutor()"
        in (project / "src" / PACKAGE / "executors.py").read_text()
    )


MIGRATION = '''\
"""Test release v1.1.0: record that the migration ran, and between which versions."""
import os
from pathlib import Path

Path("MIGRATED.txt").write_text(
    f"{os.environ['VERSION_PEP440_FROM']} -> {os.environ['VERSION_PEP440_TO']}\\n"
)
'''


def test_update_to_a_newer_release_runs_its_migration_and_keeps_edits(tmp_path: Path) -> None:
    template = make_template_clone(tmp_path / "template")
    project = tmp_path / "p"
    copy(template, project, "--trust", "--vcs-ref=v1.0.0")
    apply_edits(project, ["local"])
    commit_all(project, "My edits")

    # Release v1.1.0: a migration and a changed template file.
    (template / "hooks" / "migrations").mkdir()
    (template / "hooks" / "migrations" / "v1_1_0.py").write_text(MIGRATION)
    config = template / "copier.yml"
    config.write_text(
        config.read_text().replace(
            "_migrations:\n",
            "_migrations:\n"
            "  - version: v1.1.0\n"
            '    command: ["{{ _copier_python }}", '
            '"{{ _copier_conf.src_path }}/hooks/migrations/v1_1_0.py"]\n',
        )
    )
    tasks = template / "template" / "src" / "{{package_name}}" / "tasks.py.jinja"
    tasks.write_text(tasks.read_text().replace("The science of", "The science (v1.1) of"))
    commit_all(template, "Release 1.1.0")
    git(template, "tag", "v1.1.0")

    run = copier_cli("update", "--defaults", "--trust", str(project))

    assert run.returncode == 0, run.stderr
    assert (project / "MIGRATED.txt").read_text() == "1.0.0 -> 1.1.0\n"
    assert "The science (v1.1) of" in (project / "src" / PACKAGE / "tasks.py").read_text()
    assert "_commit: v1.1.0" in (project / ".copier-answers.yml").read_text()
    assert "def scale(x: float)" in (project / "src" / PACKAGE / "tasks.py").read_text()
    assert "No conflicts" in run.stdout

    (project / "MIGRATED.txt").unlink()
    commit_all(project, "Update to 1.1.0")
    again = copier_cli("update", "--defaults", "--trust", str(project))
    assert again.returncode == 0, again.stderr
    assert not (project / "MIGRATED.txt").exists(), "a versioned migration runs once"
