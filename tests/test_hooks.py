"""The hooks, through Copier's own command line as people run it: trust, git, conflicts.

pytest-copie always trusts the template, so these tests call the `copier` CLI.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from projects import (
    PACKAGE,
    apply_edits,
    cli_update,
    commit_all,
    copier_cli,
    data_args,
    generate,
    git,
    hook_error,
    make_template_clone,
    rename_package,
    undo_update,
)
from questionnaire import answers_for


def copy(
    template_clone: Path, project: Path, *options: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`copier copy --defaults` of a local-only project, with these options."""
    return copier_cli(
        "copy",
        "--defaults",
        *options,
        *data_args(["local"], package_name=PACKAGE),
        str(template_clone),
        str(project),
        env=env,
    )


def fitting(text: str, *paths: Path) -> str:
    """`text`, once checked to fit an 80-column terminal line by line, apart from paths."""
    for line in text.splitlines():
        for path in paths:
            line = line.replace(str(path), "PATH")
        assert len(line) <= 80, f"wider than 80 columns: {line!r}"
    return text


def said(run: subprocess.CompletedProcess[str], *paths: Path) -> str:
    """What the post-copy hook told the person (Copier's own lines go to stderr)."""
    return fitting(run.stdout.strip(), *paths)


def test_copy_without_trust_fails_with_copiers_message(
    template_clone: Path, tmp_path: Path
) -> None:
    run = copy(template_clone, tmp_path / "p")

    assert run.returncode != 0
    assert "--trust" in run.stderr and "tasks" in run.stderr
    assert not (tmp_path / "p").exists()


def test_copy_with_skip_tasks_needs_no_trust_and_leaves_git_to_you(
    template_clone: Path, tmp_path: Path
) -> None:
    run = copy(template_clone, tmp_path / "p", "--skip-tasks")

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "p" / "src" / PACKAGE / "executors.py").is_file()
    assert not (tmp_path / "p" / ".git").exists()


def test_copy_with_trust_makes_a_repository_with_a_first_commit(
    template_clone: Path, tmp_path: Path
) -> None:
    run = copy(template_clone, tmp_path / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert "ready for `copier update`" in run.stdout
    assert said(run) == (
        "Made the project a git repository with a first commit.\nIt is ready for `copier update`."
    )
    assert git(tmp_path / "p", "log", "--format=%s").strip() == "Start project from copier-covalent"
    assert git(tmp_path / "p", "status", "--porcelain") == ""
    assert f"python -m {PACKAGE}" in run.stdout + run.stderr  # how to run it


def test_copy_without_git_identity_succeeds_and_says_how_to_commit(
    template_clone: Path, tmp_path: Path
) -> None:
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tuseConfigOnly = true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=str(gitconfig), GIT_CONFIG_NOSYSTEM="1", EMAIL="")

    run = copy(template_clone, tmp_path / "p", "--trust", env=env)

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "p" / ".git").is_dir()
    assert 'git config --global user.name "Your Name"' in run.stdout
    assert "git commit" in run.stdout
    assert said(run, tmp_path) == (
        "git could not make the project's first commit:\n"
        "  Author identity unknown\n"
        "Set your identity, then commit by hand (`copier update` needs a commit):\n"
        '  git config --global user.name "Your Name"\n'
        '  git config --global user.email "you@example.org"\n'
        f"  cd {tmp_path / 'p'}\n"
        '  git commit -m "Start project from copier-covalent"'
    )


def test_copy_inside_a_repository_does_not_nest_another(
    template_clone: Path, tmp_path: Path
) -> None:
    git(tmp_path, "init", "--quiet")

    run = copy(template_clone, tmp_path / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert not (tmp_path / "p" / ".git").exists()
    assert "commit the new files there" in run.stdout
    assert said(run, tmp_path) == (
        "The project is inside the git repository at\n"
        f"  {tmp_path.resolve()}\n"
        "so commit the new files there before you run `copier update`."
    )


def test_copy_into_a_folder_the_outer_repository_ignores_gets_its_own(
    template_clone: Path, tmp_path: Path
) -> None:
    git(tmp_path, "init", "--quiet")
    (tmp_path / ".gitignore").write_text("/build/\n")

    run = copy(template_clone, tmp_path / "build" / "p", "--trust")

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "build" / "p" / ".git").is_dir()
    assert said(run) == (
        "Made the project a git repository of its own, with a first commit: the git\n"
        "repository of the folder around it leaves it out.\n"
        "It is ready for `copier update`."
    )


def test_copy_into_a_new_empty_repository_makes_its_first_commit(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    git(project, "init", "--quiet")

    # mkdir p && cd p && git init && copier copy --trust TEMPLATE .
    run = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        *data_args(["local"], package_name=PACKAGE),
        str(template_clone),
        ".",
        cwd=project,
    )

    assert run.returncode == 0, run.stderr
    assert said(run) == (
        "Made the first commit in the project's git repository.\nIt is ready for `copier update`."
    )
    assert git(project, "log", "--format=%s").strip() == "Start project from copier-covalent"
    assert git(project, "status", "--porcelain") == ""


def test_copy_into_a_repository_with_commits_leaves_the_commit_to_you(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    project.mkdir()
    git(project, "init", "--quiet")
    (project / "NOTES.md").write_text("My notes\n")
    commit_all(project, "My notes")

    run = copy(template_clone, project, "--trust")

    assert run.returncode == 0, run.stderr
    assert said(run) == (
        "The project folder already had commits, so nothing was committed: review the\n"
        "new files and commit them (git add -A && git commit) before `copier update`."
    )
    assert git(project, "log", "--format=%s").strip() == "My notes"
    assert "?? src/" in git(project, "status", "--porcelain")


def test_copy_without_git_says_how_to_make_the_repository(
    template_files: Path, tmp_path: Path
) -> None:
    # Copier needs no git to copy a template folder that is not a repository.
    (tmp_path / "bin").mkdir()  # a PATH without git
    env = dict(os.environ, PATH=str(tmp_path / "bin"))

    run = copier_cli(
        "copy",
        "--trust",
        "--defaults",
        *data_args(["local"], package_name=PACKAGE),
        str(template_files),
        str(tmp_path / "p"),
        env=env,
    )

    assert run.returncode == 0, run.stderr
    assert said(run) == (
        "git is not installed, so the project is not a git repository yet, and\n"
        "`copier update` will need one. Install git, then in the project folder:\n"
        '  git init && git add -A && git commit -m "Start project from copier-covalent"'
    )
    assert not (tmp_path / "p" / ".git").exists()


def test_update_fails_loudly_naming_the_conflicted_file(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    copy(template_clone, project, "--trust")
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


def test_update_needs_trust_even_with_skip_tasks(template_clone: Path, tmp_path: Path) -> None:
    project = tmp_path / "p"
    copy(template_clone, project, "--trust")
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
    releases = make_template_clone(tmp_path / "template")
    project = tmp_path / "p"
    copy(releases, project, "--trust", "--vcs-ref=v1.0.0")
    apply_edits(project, ["local"])
    commit_all(project, "My edits")

    # Release v1.1.0: a migration and a changed template file.
    (releases / "hooks" / "migrations").mkdir()
    (releases / "hooks" / "migrations" / "v1_1_0.py").write_text(MIGRATION)
    config = releases / "copier.yml"
    config.write_text(
        config.read_text().replace(
            "_migrations:\n",
            "_migrations:\n"
            "  - version: v1.1.0\n"
            '    command: ["{{ _copier_python }}", '
            '"{{ _copier_conf.src_path }}/hooks/migrations/v1_1_0.py"]\n',
        )
    )
    tasks = releases / "template" / "src" / "{{package_name}}" / "tasks.py.jinja"
    tasks.write_text(tasks.read_text().replace("The science of", "The science (v1.1) of"))
    commit_all(releases, "Release 1.1.0")
    git(releases, "tag", "v1.1.0")

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


def test_update_fails_when_answers_claim_a_backend_never_generated(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    generate(template_clone, project, ["local", "dask"])
    git(project, "rm", "--quiet", f"src/{PACKAGE}/workflows/dask.py")  # dask keeps the rest
    # slurm and its settings typed into the answers file instead of `copier update --data`.
    answers = project / ".copier-answers.yml"
    settings = {k: v for k, v in answers_for(["slurm"]).items() if k != "backends"}
    typed = "".join(f"{key}: {value}\n" for key, value in settings.items())
    answers.write_text(answers.read_text().replace("- dask\n", "- dask\n- slurm\n") + typed)
    commit_all(project, "Add slurm")

    run = cli_update(project)

    assert run.returncode == 1
    assert fitting(hook_error(run)) == (
        ".copier-answers.yml lists the back end slurm, but nothing of it was generated\n"
        "(no executor, no example workflow, no README section): the answers file was\n"
        "edited by hand, so Copier saw nothing to add. Undo the update, put `backends`\n"
        "back to what was generated in a commit, and let Copier add the rest:\n"
        "  git reset --hard && git clean -fd\n"
        "  # in .copier-answers.yml, set `backends: [local, dask]`, then commit\n"
        "  copier update --trust --vcs-ref=:current: \\\n"
        "    --data 'backends=[local,dask,slurm]'"
    )

    # The way out it gives works (with --defaults here, to answer without a terminal).
    undo_update(project)
    answers.write_text(answers.read_text().replace("- slurm\n", ""))
    commit_all(project, "Back ends as generated")
    again = cli_update(project, "--data", "backends=[local,dask,slurm]")

    assert again.returncode == 0, again.stderr
    assert "Back ends added slurm. Now: local, dask, slurm." in again.stdout
    executors = (project / "src" / PACKAGE / "executors.py").read_text()
    assert "slurm = ct.executor.SlurmExecutor(" in executors


def test_update_fails_when_the_package_folder_was_renamed_but_not_in_the_answers(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "p"
    generate(template_clone, project, ["local"])
    rename_package(project, "renamed", in_answers=False)

    run = cli_update(project, *data_args(["local", "dask"]))

    assert run.returncode == 1
    assert fitting(hook_error(run)) == (
        f".copier-answers.yml says package_name: {PACKAGE}, but the last commit has no\n"
        f"src/{PACKAGE}/: the package was renamed without telling Copier, so this update\n"
        "wrote to the old folder. The package now looks like src/renamed/. Undo the\n"
        "update, record the new name in a commit, and run the same update again:\n"
        "  git reset --hard && git clean -fd\n"
        "  # in .copier-answers.yml, set `package_name: renamed`, then commit"
    )

    # The way out it gives works.
    undo_update(project)
    answers = project / ".copier-answers.yml"
    answers.write_text(answers.read_text().replace(PACKAGE, "renamed"))
    commit_all(project, "Record the new package name")
    again = cli_update(project, *data_args(["local", "dask"]))

    assert again.returncode == 0, again.stderr
    assert (project / "src" / "renamed" / "workflows" / "dask.py").is_file()
    assert not (project / "src" / PACKAGE).exists()


@pytest.mark.parametrize(
    "edited", [f"src/{PACKAGE}/readiness/slurm.py", f"src/{PACKAGE}/workflows/slurm.py"]
)
def test_update_removing_a_backend_names_the_deleted_files_you_had_edited(
    template_clone: Path, tmp_path: Path, edited: str
) -> None:
    project = tmp_path / "p"
    generate(template_clone, project, ["local", "slurm"])
    path = project / edited
    path.write_text(path.read_text() + "# my own note\n")
    commit_all(project, "My note")

    run = cli_update(project, *data_args(["local"]))

    assert run.returncode == 0, run.stderr
    assert not path.exists()
    assert fitting(run.stdout.strip()) == (  # the other file slurm had, unedited, is not named
        "Back ends removed slurm. Now: local.\n"
        "The update deleted files that had your edits. Your versions are still in the\n"
        "last commit: before you commit, copy what you need from them:\n"
        f"  git show HEAD:./{edited}\n"
        "No conflicts. Review with `git diff`, run the tests, then commit."
    )
    assert git(project, "show", f"HEAD:./{edited}").endswith("# my own note\n")
