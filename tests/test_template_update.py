"""Template releases as pull requests: each generated project's .github/template_update.py,
run as the weekly workflow runs it, against a local git template with two releases.

v1.0.0 is the working tree locked with an older rich; v1.1.0 is the working tree with one
line of the README's introduction reworded. A project made from v1.0.0 and edited by its owner gets
v1.1.0 on the branch template-update, with its tests run, and the text of the pull
request; the workflow's second job applies the patch elsewhere.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from projects import (
    apply_edits,
    check_edits_kept,
    commit_all,
    generate,
    git,
    make_template_clone,
)
from questionnaire import CONFIG

from support import covalent_env, uv

BACKENDS = ["local"]
COPIER = CONFIG["copier_version"]["default"]
INTRO = "A [Covalent](https://docs.covalent.xyz) project with one executor per compute resource,"
REWORDED = (
    "A [Covalent](https://docs.covalent.xyz) project: one executor for each compute resource,"
)
OWNERS_INTRO = (
    "Our group's [Covalent](https://docs.covalent.xyz) sweeps, one executor per resource,"
)
NEW_QUESTION = """
group_name:
  type: str
  help: Your research group's name
  default: "{{ '' if _copier_conf.defaults else UNSET }}"
  validator: "{% if not group_name %}Type your group's name{% endif %}"
"""


def release(template: Path, tag: str, edits: dict[str, tuple[str, str]]) -> None:
    """Commit these edits ({file: (old, new)}) to the template and tag the commit."""
    for name, (old, new) in edits.items():
        path = template / name
        assert old in path.read_text(), f"{name}: {old!r} not found"
        path.write_text(path.read_text().replace(old, new, 1))
    git(template, "add", "--all")  # v1.0.0 may change nothing: the working tree as committed
    git(template, "commit", "--quiet", "--allow-empty", "--message", f"Release {tag}")
    git(template, "tag", tag)


def template_with(parent: Path, newer: dict[str, tuple[str, str]], older_lock: bool = True) -> Path:
    """A template whose v1.0.0 is the working tree (locked with rich 14.2.0 when
    `older_lock`), and whose v1.1.0 is the working tree with these edits."""
    template = make_template_clone(parent, tag="working-tree")
    stack = template / "includes" / "stack"
    if older_lock:
        lock = [uv(), "lock", "--quiet", "--upgrade-package", "rich==14.2.0"]
        subprocess.run(lock, cwd=stack, check=True)
        constraints = (stack / "constraints.txt").read_text()
        older = re.sub(r"(?m)^rich==.*$", "rich==14.2.0", constraints)
        (stack / "constraints.txt").write_text(older)
    release(template, "v1.0.0", {})
    git(template, "checkout", "working-tree", "--", "includes/stack")
    release(template, "v1.1.0", newer)
    git(template, "tag", "-d", "working-tree")
    return template


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_with(
        tmp_path_factory.mktemp("releases"), {"template/README.md.jinja": (INTRO, REWORDED)}
    )


def rich(project: Path) -> str:
    """The version of rich that a project's uv.lock holds."""
    lock = (project / "uv.lock").read_text()
    return lock.split('name = "rich"\nversion = "', 1)[1].split('"', 1)[0]


def edited_project(template: Path, path: Path, *edits: tuple[str, str, str]) -> Path:
    """A project of v1.0.0 with the owner's usual edits and these, committed."""
    project = generate(template, path, BACKENDS, vcs_ref="v1.0.0")
    apply_edits(project, BACKENDS)
    for name, old, new in edits:
        (project / name).write_text((project / name).read_text().replace(old, new))
    subprocess.run([uv(), "lock", "--quiet"], cwd=project, check=True)  # their numpy too
    commit_all(project, "My edits")
    return project


def template_update(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python3 .github/template_update.py ARGS` as the workflow runs it: uv on PATH, the
    results in a folder of the runner's."""
    env = covalent_env(project.parent / "covalent")  # the project's tests stay in there
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # uv
    env["UV_PYTHON"] = sys.executable
    out = project.parent / "out"
    command = [sys.executable, ".github/template_update.py", "--out", str(out), *args]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True)


def results(project: Path) -> dict[str, str]:
    out = project.parent / "out"
    return {path.name: path.read_text() for path in out.iterdir()}


def test_update_to_the_newer_release_is_tested_and_written_as_a_pull_request(
    template: Path, tmp_path: Path
) -> None:
    project = edited_project(template, tmp_path / "project")
    start, base = (
        git(project, "branch", "--show-current").strip(),
        git(project, "rev-parse", "HEAD").strip(),
    )

    run = template_update(project, "--template", str(template))

    assert run.returncode == 0, run.stdout + run.stderr
    made = results(project)
    print(f"\n{made['title.txt']}\n{made['body.md']}")
    assert made["outcome"] == "ready\n", made["summary.md"]
    title, body = made["title.txt"].strip(), made["body.md"]
    assert title == "Update to copier-covalent v1.1.0"
    assert "from the template copier-covalent `v1.0.0` to `v1.1.0`" in body
    assert "| rich | 14.2.0 | " in body and "**Locked versions that moved**" in body
    assert "**Tests**: " in body and " passed" in body and "failed" not in body
    assert "- `_src_path`" not in body  # the location is not an answer
    # On the branch: the release's changes, the owner's edits, one commit on theirs.
    assert git(project, "branch", "--show-current").strip() == "template-update"
    assert git(project, "rev-parse", "HEAD~1").strip() == base
    assert git(project, "status", "--porcelain") == ""
    assert REWORDED in (project / "README.md").read_text()
    check_edits_kept(project, BACKENDS)
    fresh = generate(template, tmp_path / "fresh", BACKENDS, vcs_ref="v1.1.0")
    assert rich(project) == rich(fresh) != "14.2.0"  # the new lock, with their numpy
    assert 'name = "numpy"' in (project / "uv.lock").read_text()
    # The workflow's second job: the patch, applied to the default branch elsewhere.
    other = tmp_path / "checkout"
    git(tmp_path, "clone", "--quiet", "--branch", start, str(project), str(other))
    git(other, "switch", "--quiet", "--create", "template-update")
    git(
        other,
        "-c",
        "user.name=bot",
        "-c",
        "user.email=b@b",
        "am",
        str(tmp_path / "out" / "update.patch"),
    )
    assert git(other, "rev-parse", "HEAD^{tree}") == git(project, "rev-parse", "HEAD^{tree}")
    assert git(other, "log", "-1", "--format=%s").strip() == title


def test_a_release_that_conflicts_with_an_edit_gives_a_draft_naming_the_file(
    template: Path, tmp_path: Path
) -> None:
    project = edited_project(template, tmp_path / "project", ("README.md", INTRO, OWNERS_INTRO))

    run = template_update(project, "--template", str(template))

    assert run.returncode == 0, run.stdout + run.stderr
    made = results(project)
    assert made["outcome"] == "draft\n"
    assert made["title.txt"].strip() == "Update to copier-covalent v1.1.0 (conflicts)"
    assert (
        "**Conflicts**: the update and your edits change the same lines in `README.md`."
        in (made["body.md"])
    )
    committed = git(project, "show", "HEAD:README.md")
    assert "<<<<<<< " in committed and OWNERS_INTRO in committed and REWORDED in committed


def test_a_release_with_a_new_question_without_default_opens_nothing_and_names_it(
    tmp_path: Path,
) -> None:
    template = template_with(
        tmp_path / "template",
        {"copier.yml": ("\n---\n", NEW_QUESTION + "\n---\n")},
        older_lock=False,
    )
    project = edited_project(template, tmp_path / "project")
    start, head = git(project, "branch", "--show-current"), git(project, "rev-parse", "HEAD")

    run = template_update(project, "--template", str(template))

    assert run.returncode == 0, run.stdout + run.stderr
    made = results(project)
    assert made["outcome"] == "none\n"
    assert "asks a new question, group_name, with no default" in made["summary.md"]
    answer = f"uvx copier=={COPIER} update --trust --defaults --data group_name=..."
    assert answer in made["summary.md"]
    assert git(project, "rev-parse", "HEAD") == head  # nothing changed, nothing left
    assert git(project, "branch", "--show-current") == start
    assert git(project, "status", "--porcelain") == ""


def test_a_template_in_a_folder_is_skipped_in_one_line(template: Path, tmp_path: Path) -> None:
    project = edited_project(template, tmp_path / "project")
    head = git(project, "rev-parse", "HEAD")

    run = template_update(project)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == (
        f"Not updated: the template is a folder ({template}) that this machine may not have: "
        "set _src_path in .copier-answers.yml to its URL, or pass --template."
    )
    assert results(project)["outcome"] == "none\n"
    assert git(project, "rev-parse", "HEAD") == head
