"""A new back end is one folder and one registry entry: nothing else changes.

The test adds `scratch` (local processes in a working directory of their own, asked for
with one question) to a copy of the template exactly as includes/backends.yml's header
says, checks that no other file changed, and generates, lints, installs and tests a
project that uses it. (Its class is LocalExecutor, so the project does without `local`:
one check per class.)
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

import copier
import yaml
from projects import ruff_problems, template_debris
from questionnaire import answers_for

NAME = "scratch"
FOLDER = {
    "questions.yml": """\
# The scratch back end's settings: a stand-in for a new resource, for the tests.

scratch_workdir:
  type: str
  when: "{{ 'scratch' in backends }}"
  help: Working directory of the scratch processes
  default: ~/scratch
  validator: >-
    {% import 'includes/answers.jinja' as a with context %}{{
    a.rule(scratch_workdir, 'scratch_workdir', 'remote_path') }}
""",
    "executor.py.jinja": """\
# Local processes that keep their files apart from the local executor's.
{{ instance }} = ct.executor.LocalExecutor(workdir={{ scratch_workdir | tojson }})
""",
    "readme.md.jinja": """\
### scratch

`executors.scratch` runs electrons as local processes in `{{ scratch_workdir }}`.
""",
    "readiness.py.jinja": """\
\"\"\"Is the scratch directory ready? Its processes write their files there.\"\"\"

import os
from pathlib import Path

import covalent as ct

from {{ package_name }}.readiness import (
    Problem,
    Report,
)

EXECUTOR = ct.executor.LocalExecutor


async def check(executor: EXECUTOR) -> Report:
    workdir = Path(executor.workdir).expanduser()
    existing = next(path for path in [workdir, *workdir.parents] if path.exists())
    if os.access(existing, os.W_OK):
        return Report(f"{existing} is writable")
    return Report(problems=[Problem(f"{existing} is not writable", "choose another workdir")])
""",
}
ENTRY = """\
    scratch:
      label: local processes in a scratch directory (a test back end)
      executor_class: LocalExecutor
      title: the scratch directory
      workflow_note: Each sweep point runs in its own process, its files in scratch.
      tested: offline
"""


def add_backend(template: Path) -> set[str]:
    """Add `scratch` the way the registry's header says; return the paths written."""
    folder = template / "_backends" / NAME
    folder.mkdir()
    for name, text in FOLDER.items():
        (folder / name).write_text(text)

    registry = template / "includes" / "backends.yml"
    text = registry.read_text()
    last_entry_ends = text.index("\n---\n")  # the registry is the first document
    text = text[:last_entry_ends] + "\n" + ENTRY.rstrip("\n") + text[last_entry_ends:]
    registry.write_text(text + f"---\n!include _backends/{NAME}/questions.yml\n")

    return {
        *(f"_backends/{NAME}/{name}" for name in FOLDER),
        "includes/backends.yml",
    }


def changed_files(before: Path, after: Path) -> set[str]:
    """Paths that differ between two trees, or exist in one only."""
    changed: set[str] = set()

    def walk(comparison: filecmp.dircmp, prefix: str) -> None:
        for name in comparison.left_only + comparison.right_only + comparison.diff_files:
            path = Path(comparison.right if name in comparison.right_only else comparison.left)
            if (path / name).is_dir():
                changed.update(
                    f"{prefix}{name}/{p.relative_to(path / name)}"
                    for p in (path / name).rglob("*")
                    if p.is_file()
                )
            else:
                changed.add(prefix + name)
        for name, sub in comparison.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(before, after, ignore=[]), "")
    return changed


def test_a_new_back_end_is_one_folder_and_one_entry_and_works(
    template_files: Path, tmp_path: Path, install_project, ruff: Path
) -> None:
    template = tmp_path / "template"
    shutil.copytree(template_files, template)
    written = add_backend(template)
    assert changed_files(template_files, template) == written

    project = tmp_path / "project"
    answers = answers_for(["dask"], package_name="proj_new")
    answers["backends"] = ["dask", NAME]
    answers["scratch_workdir"] = "~/scratch-runs"
    copier.run_copy(
        str(template), project, data=answers, defaults=True, quiet=True, skip_tasks=True
    )

    stored = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert stored["backends"] == ["dask", NAME]
    assert stored["scratch_workdir"] == "~/scratch-runs"
    executors = (project / "src" / "proj_new" / "executors.py").read_text()
    assert 'scratch = ct.executor.LocalExecutor(workdir="~/scratch-runs")' in executors
    assert "### scratch" in (project / "README.md").read_text()
    assert template_debris(project) == []
    assert ruff_problems(ruff, project) == ""

    installed = install_project(project)
    listed = installed.run("-m", "proj_new", "--list")
    assert [line.split()[0] for line in listed.stdout.splitlines()] == ["dask", NAME]
    assert f"{NAME}  on dask, {NAME}" in listed.stdout  # summarised on the light one
    check = installed.run("-m", "proj_new", "check", NAME)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith(f"{NAME}: ready: ") and "is writable" in check.stdout
    run = installed.run("-m", "pytest", "-v", "-p", "no:cacheprovider", "-W", "ignore")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"[{NAME}] PASSED" in run.stdout  # its own tests know the new back end
