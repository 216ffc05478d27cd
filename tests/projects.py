"""Generated projects as people live with them: copied, edited, committed, updated."""

from __future__ import annotations

import filecmp
import subprocess
from collections.abc import Callable
from pathlib import Path

import copier
from conftest import BACKENDS, REGISTRY, REPO, answers_for
from support import copy_working_tree

PACKAGE = "proj_update"
SRC = Path("src") / PACKAGE

# Realistic edits people make, each as (file, text to find, text to put instead).
# They touch a generated executor block, the user section, their own workflow, the
# README, the dependencies and the science module.
USER_WORKFLOW = """\"\"\"My analysis, on the shared {light} executor.\"\"\"

import covalent as ct

from {package} import executors, tasks

double = ct.electron(tasks.simulate, executor=executors.{light})
summarize = ct.electron(tasks.summarize, executor=executors.{light})


@ct.lattice(executor=executors.{light}, workflow_executor=executors.{light})
def workflow(points: int = 2) -> dict:
    return {{"summary": summarize([double(x) for x in range(points)])}}
"""


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True
    ).stdout


def make_template_clone(parent: Path) -> Path:
    """The template as it is in the working tree, committed in a clone and tagged v1.0.0.

    Tests never copy from the working tree itself: Copier records a dirty tree as a
    temporary commit that a later update cannot find.
    """
    clone = parent / "copier-covalent"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    git(clone, "rm", "-r", "--quiet", ".")
    copy_working_tree(clone)
    git(clone, "add", "--all")
    git(
        clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test", "--allow-empty"
    )
    git(clone, "tag", "v1.0.0")
    return clone


def generate(template: Path, dst: Path, backends: list[str], vcs_ref: str = "v1.0.0") -> Path:
    copier.run_copy(
        str(template),
        dst,
        data=answers_for(backends, package_name=PACKAGE),
        defaults=True,
        unsafe=True,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return dst


def update(project: Path, backends: list[str], **kwargs: object) -> None:
    copier.run_update(
        project,
        data=answers_for(backends, package_name=PACKAGE),
        defaults=True,
        overwrite=True,
        unsafe=True,
        quiet=True,
        **({"vcs_ref": copier.VcsRef.CURRENT} | kwargs),  # type: ignore[arg-type]
    )


# The generated executor block people retune first, for a project's first back end.
BLOCK_EDITS = {
    "local": ("LocalExecutor()", 'LocalExecutor(workdir="/scratch/covalent")'),
    "dask": ("DaskExecutor()", 'DaskExecutor(scheduler_address="tcp://10.1.2.3:8786")'),
}
USER_SECTION_EXAMPLE = (
    '#     slurm_gpu = ct.executor.SlurmExecutor(..., options={"partition": "gpu"})\n'
)


def light(backends: list[str]) -> str:
    """The project's executor for light work, as the template picks it."""
    return "local" if "local" in backends else "dask"


def user_workflow(backends: list[str]) -> str:
    """A workflow module of the user's own, on the project's light executor."""
    return USER_WORKFLOW.format(light=light(backends), package=PACKAGE)


def user_edits(backends: list[str]) -> list[tuple[str, str, str]]:
    """Edits as (file, text to find, replacement) for a project with these back ends."""
    name = light(backends)
    own_executor = f"\nbig_{name} = ct.executor.{REGISTRY[name]['executor_class']}()\n"
    dependency = '    "numpy>=1.26",\n'
    function = "def scale(x: float) -> float:\n    return 2 * x\n\n\n"
    return [
        (f"{SRC}/executors.py", *BLOCK_EDITS[backends[0]]),
        (f"{SRC}/executors.py", USER_SECTION_EXAMPLE, USER_SECTION_EXAMPLE + own_executor),
        ("README.md", "## Layout\n", "Our group's sweeps; ask Ada first.\n\n## Layout\n"),
        ("README.md", "## Tests\n", "## Tests\n\nRun them before every push.\n"),
        ("pyproject.toml", "# Your own dependencies:\n", f"# Your own dependencies:\n{dependency}"),
        (f"{SRC}/tasks.py", "def where_am_i()", f"{function}def where_am_i()"),
    ]


def apply_edits(project: Path, backends: list[str]) -> None:
    """Make the user edits (and add their own workflow module)."""
    for name, old, new in user_edits(backends):
        path = project / name
        text = path.read_text()
        assert text.count(old) == 1, f"{name}: edit anchor {old!r} not found once"
        path.write_text(text.replace(old, new))
    (project / SRC / "workflows" / "analysis.py").write_text(user_workflow(backends))


def commit_all(project: Path, message: str) -> None:
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", message)


def conflict_leftovers(project: Path) -> list[str]:
    unmerged = git(project, "diff", "--name-only", "--diff-filter=U").split()
    rejects = [str(p.relative_to(project)) for p in project.rglob("*.rej")]
    markers = [
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.parts and "<<<<<<< " in p.read_text(errors="ignore")
    ]
    return unmerged + rejects + markers


def tree_differences(left: Path, right: Path) -> list[str]:
    """Files that differ between two project trees, ignoring git's own folder."""
    differences: list[str] = []

    def walk(cmp: filecmp.dircmp, prefix: str) -> None:
        differences.extend(prefix + n for n in cmp.left_only + cmp.right_only if n != ".git")
        differences.extend(prefix + n for n in cmp.diff_files)
        for name, sub in cmp.subdirs.items():
            if name != ".git":
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(left, right, ignore=[".git", "__pycache__"]), "")
    return differences


def with_backend(base: list[str], backend: str) -> list[str]:
    return [b for b in BACKENDS if b in base or b == backend]


def base_for(backend: str) -> list[str]:
    """A small project that does not have `backend` yet."""
    return ["dask"] if backend == "local" else ["local"]


def check_edits_kept(project: Path, backends: list[str]) -> None:
    for name, _, new in user_edits(backends):
        assert new in (project / name).read_text(), f"user edit lost in {name}: {new!r}"
    assert (project / SRC / "workflows" / "analysis.py").read_text() == user_workflow(backends)


def run_project_tests(install_project: Callable, project: Path) -> None:
    installed = install_project(project)
    run = installed.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")
    assert run.returncode == 0, run.stdout + run.stderr


def update_edited_project(
    template: Path, tmp_path: Path, start: list[str], end: list[str], edits_for: list[str]
) -> Path:
    """Copy with `start`, make the user edits for `edits_for`, commit, update to `end`.

    Checks what every such update must give: no conflict left, every edit kept, and
    the same tree as a fresh copy with `end` plus the same edits.
    """
    project = generate(template, tmp_path / "project", start)
    apply_edits(project, edits_for)
    commit_all(project, "My edits")

    update(project, end)

    assert conflict_leftovers(project) == []
    check_edits_kept(project, edits_for)
    fresh = generate(template, tmp_path / "fresh", end)
    apply_edits(fresh, edits_for)
    assert tree_differences(project, fresh) == []
    return project
