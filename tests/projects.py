"""Generated projects as people live with them: copied, edited, committed, updated."""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path

import copier
from copier_command import launcher
from plugin_filter import requirement_name
from questionnaire import BACKENDS, CONFIG, DEFAULT_BACKENDS, REGISTRY, REPO, answers_for

from support import BUILD, bin_dir, copy_working_tree, covalent_env, synced, uv

PACKAGE = "proj_update"
SRC = Path("src") / PACKAGE
COPIER = str(launcher(BUILD / "test-bin"))  # Copier's own command (copier_command.py)

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


# What the generated READMEs tell users to install on the remote side (SSH, Slurm, HPC).
REMOTE_REQUIREMENTS = [
    *(item["requirement"] for item in CONFIG["covalent_requirements"]["default"]),
    *(entry["remote_requirement"] for entry in REGISTRY.values() if "remote_requirement" in entry),
]


# ... at the stack's locked versions, as `setup` installs them.
REMOTE_CONSTRAINTS = (REPO / "includes" / "stack" / "constraints.txt").read_text()


def build_stack() -> Path:
    """The tests' shared stack: includes/stack/uv.lock synced into build/stack (every pin,
    plugin and dev tool the template offers, at exactly the locked versions), with the
    Python running the tests; its python."""
    options = ("--no-install-project", "--python", sys.executable)
    return synced(REPO / "includes" / "stack", BUILD / "stack", *options)


def overlay(stack_python: Path, path: Path) -> Path:
    """A virtualenv of one test worker over the shared stack: it sees every package of
    the stack (its site-packages added after its own, .pth files and all) and keeps the
    projects a worker installs to itself, so workers never replace each other's. Its
    bin/ has the stack's commands, those in Python run by its own python; its python.
    A generated project run in it sees only its own executor plugins (plugin_filter).
    """
    shutil.rmtree(path, ignore_errors=True)
    subprocess.run([str(stack_python), "-m", "venv", "--without-pip", str(path)], check=True)
    stack = stack_python.parent.parent
    site, stack_site = (next(env.glob("lib/python3.*/site-packages")) for env in (path, stack))
    (site / "zz-stack.pth").write_text(f"import site; site.addsitedir({str(stack_site)!r})\n")
    shutil.copy(Path(__file__).with_name("plugin_filter.py"), site / "covtest_plugin_filter.py")
    (site / "covtest_plugin_filter.pth").write_text("import covtest_plugin_filter\n")
    python = bin_dir(path) / "python"
    for command in sorted(bin_dir(stack).iterdir()):
        mine = bin_dir(path) / command.name
        if mine.exists() or mine.is_symlink():
            continue  # its own python and activate scripts
        text = command.read_bytes()
        if text.startswith(b"#!" + str(stack_python).encode()):
            mine.write_bytes(b"#!" + str(python).encode() + text[2 + len(str(stack_python)) :])
            mine.chmod(0o755)
        else:
            mine.symlink_to(command)
    return python


def uv_pip(python: Path, *args: str) -> None:
    """`uv pip` on the environment of `python`, quietly; it must work. A project's build
    backend (uv_only_build.py for some) runs from its folder and writes no bytecode there:
    tests share rendered projects as they are."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    subprocess.run([uv(), "pip", *args, "--quiet", "--python", str(python)], check=True, env=env)


def executor_instances(source: str) -> list[tuple[str, str]]:
    """(name, class) of each executor built at module level in an executors.py source."""
    pattern = r"^\s*(\w+) = (?:ct\.executor\.)?(\w+Executor)\("
    return re.findall(pattern, source, flags=re.MULTILINE)


PLUGINS = "COVTEST_EXECUTOR_PLUGINS"  # read by plugin_filter.py


def distributions(pyproject: dict) -> list[str]:
    """A project's own distribution and those it depends on, by name."""
    requirements = pyproject["project"].get("dependencies", [])
    return [pyproject["project"]["name"], *map(requirement_name, requirements)]


class InstalledProject:
    """A generated project installed in the shared stack. Its `env` (a copy of the one
    given, however it is set) names the project's `distributions`: in a worker's overlay
    of the stack Covalent sees only the executor plugins they install (plugin_filter.py)."""

    def __init__(
        self, python: Path, path: Path, env: dict[str, str], distributions: Sequence[str] = ()
    ) -> None:
        self.python, self.path, self.distributions = python, path, ",".join(distributions)
        self.env = env

    @property
    def env(self) -> dict[str, str]:
        return self._env

    @env.setter
    def env(self, env: dict[str, str]) -> None:
        self._env = self.naming_plugins(env)

    def naming_plugins(self, env: dict[str, str]) -> dict[str, str]:
        """A copy of `env` that names this project's distributions, for a command of it
        run in another environment than its own (`env`)."""
        return {**env, PLUGINS: self.distributions} if self.distributions else dict(env)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run the stack's python with these arguments inside the project."""
        return subprocess.run(
            [str(self.python), *args],
            cwd=self.path,
            env=self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
        )


class Installer:
    """Installs generated projects into the shared stack; `uninstall_all` removes them."""

    def __init__(self, python: Path, covalent_root: Path) -> None:
        self.python, self.covalent_root = python, covalent_root
        self.installed: list[str] = []

    def install(
        self, path: Path, env: dict[str, str] | None = None, *, editable: bool = False
    ) -> InstalledProject:
        """Install; run it with `env` (a server's) or an isolated Covalent environment.

        Editable as `uv sync` installs it, `setup` finds the project's constraints.txt
        beside the source; but Dask workers started before it cannot import it (a .pth
        file is read at start-up only), so the default is a plain install."""
        uv_pip(
            self.python, "install", "--no-deps", *(["--editable"] if editable else []), str(path)
        )
        pyproject = tomllib.loads((path / "pyproject.toml").read_text())
        self.installed.append(pyproject["project"]["name"])
        env = env or covalent_env(self.covalent_root)
        return InstalledProject(self.python, path, env, distributions(pyproject))

    def uninstall_all(self) -> None:
        if self.installed:
            uv_pip(self.python, "uninstall", *self.installed)
        self.installed.clear()


def private_copy(project: Path, parent: Path) -> Path:
    """A copy of a shared rendered project that a test may change."""
    return Path(shutil.copytree(project, parent / project.name, symlinks=True))


def git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=path, check=True, capture_output=True, text=True
    ).stdout


def make_template_clone(
    parent: Path, tag: str = "v1.0.0", releases: dict[str, str] | None = None
) -> Path:
    """The template as it is in the working tree, committed in a clone and tagged `tag`;
    `releases` tags commits of its history first, as older versions ({tag: commit}).
    The clone has no other tag: Copier takes the newest one unless told otherwise.

    Tests never copy from the working tree itself: Copier records a dirty tree as a
    temporary commit that a later update cannot find.
    """
    clone = parent / "copier-covalent"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    for own in git(clone, "tag", "--list").split():  # the template's real releases
        git(clone, "tag", "--delete", own)
    for version, commit in (releases or {}).items():
        git(clone, "tag", version, commit)
    git(clone, "rm", "-r", "--quiet", ".")
    copy_working_tree(clone)
    git(clone, "add", "--all")
    git(
        clone, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "test", "--allow-empty"
    )
    git(clone, "tag", tag)
    return clone


# Projects `generate` made, untouched: (template, version, back ends) -> folder.
_GENERATED: dict[tuple[str, str, tuple[str, ...]], Path] = {}


def generate(
    template: Path, dst: Path, backends: list[str], vcs_ref: str = "v1.0.0", **answers: object
) -> Path:
    """The project Copier makes (its hook commits it) with these back ends (and answers
    other than the defaults), in `dst`.

    Each template version and set of answers is rendered once per session, beside the
    template, and copied after: a version tag always names the same files.
    """
    key = (str(template), vcs_ref, tuple(backends), tuple(sorted(answers.items())))
    if key not in _GENERATED:
        made = template.parent / "generated" / str(len(_GENERATED))
        copier.run_copy(
            str(template),
            made,
            data=answers_for(backends, package_name=PACKAGE, **answers),
            defaults=True,
            unsafe=True,
            vcs_ref=vcs_ref,
            quiet=True,
        )
        _GENERATED[key] = made
    return Path(shutil.copytree(_GENERATED[key], dst, symlinks=True))


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
    """The project's executor for light work, as the template picks it (light_backend)."""
    return next((b for b in backends if REGISTRY[b].get("light_work")), backends[0])


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


def undo_update(project: Path) -> None:
    """What the post-update check tells people to run to undo a failed update."""
    git(project, "reset", "--hard", "--quiet")
    git(project, "clean", "-fd", "--quiet")


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


def with_backends(base: list[str], added: list[str]) -> list[str]:
    """The back ends of `base` and `added`, in copier.yml's order."""
    return [b for b in BACKENDS if b in base or b in added]


def base_for(group: list[str]) -> list[str]:
    """A small project with none of `group`: the default back ends not in it."""
    base = [b for b in DEFAULT_BACKENDS if b not in group]
    assert base, f"{group} holds every default back end: nothing is left to update from"
    return base


def check_edits_kept(project: Path, backends: list[str]) -> None:
    for name, _, new in user_edits(backends):
        assert new in (project / name).read_text(), f"user edit lost in {name}: {new!r}"
    assert (project / SRC / "workflows" / "analysis.py").read_text() == user_workflow(backends)


# Digests of the project trees whose own tests passed in this session.
_PASSED: set[str] = set()


def tree_digest(project: Path) -> str:
    """What a project's files hold, path by path (git's own folder and bytecode aside)."""
    digest = hashlib.sha256()
    for path in sorted(project.rglob("*")):
        parts = path.relative_to(project).parts
        if path.is_file() and ".git" not in parts and "__pycache__" not in parts:
            digest.update(f"{'/'.join(parts)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


def passed_count(output: str) -> int:
    """How many tests a pytest run's summary says passed."""
    match = re.search(r"(\d+) passed", output)
    return int(match.group(1)) if match else 0


def expected_listing(backends: list[str]) -> dict[str, str]:
    """What `python -m PACKAGE --list` says of a default project with these back ends:
    each workflow runs its sweep on its own back end, summarised on the light one."""
    return {b: f"on {', '.join(dict.fromkeys(['local', b]))}" for b in backends}


def listing(stdout: str) -> dict[str, str]:
    """`--list` output as workflow: what it runs on, in the order printed."""
    return dict(line.split(maxsplit=1) for line in stdout.splitlines())


def run_project_tests(install_project: Callable, project: Path) -> None:
    """Install the project and run its own tests, which must pass. A tree equal file for
    file to one that passed already in this session is not run again: same files, same
    result (updates that remove different back ends all end as the same project)."""
    digest = tree_digest(project)
    if digest in _PASSED:
        return
    installed = install_project(project)
    # -W ignore: in the shared stack itself (-n 0, no worker's overlay) Covalent imports
    # every plugin, so a project without gcpbatch would see its warnings here
    # (test_quiet_stack.py checks that a project of its own shows none).
    run = installed.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore")
    assert run.returncode == 0, run.stdout + run.stderr
    _PASSED.add(digest)


def update_edited_project(
    template: Path,
    tmp_path: Path,
    start: list[str],
    end: list[str],
    edits_for: list[str],
    updater: Callable[[Path, list[str]], None] = update,
) -> Path:
    """Copy with `start`, make the user edits for `edits_for`, commit, update to `end`
    (with `updater(project, end)`: `update` by default, as `--data` does).

    Checks what every such update must give: no conflict left, every edit kept, and
    the same tree as a fresh copy with `end` plus the same edits.
    """
    project = generate(template, tmp_path / "project", start)
    apply_edits(project, edits_for)
    commit_all(project, "My edits")

    updater(project, end)

    assert conflict_leftovers(project) == []
    check_edits_kept(project, edits_for)
    fresh = generate(template, tmp_path / "fresh", end)
    apply_edits(fresh, edits_for)
    assert tree_differences(project, fresh) == []
    return project


def copier_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The `copier` command as a person runs it (in `cwd`)."""
    return subprocess.run(
        [COPIER, *args], capture_output=True, text=True, env=env or dict(os.environ), cwd=cwd
    )


def data_args(backends: list[str], **extra: str) -> list[str]:
    """The answers for these back ends (and `extra` ones) as --data options."""
    args = []
    for key, value in answers_for(backends, **extra).items():
        args += ["--data", f"{key}={json.dumps(value) if isinstance(value, list) else value}"]
    return args


def cli_update(project: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """`copier update --trust --defaults --vcs-ref=:current:` with these options."""
    return copier_cli(
        "update", "--trust", "--defaults", "--vcs-ref=:current:", *options, str(project)
    )


def hook_error(run: subprocess.CompletedProcess[str]) -> str:
    """What the post-update hook printed on stderr, between Copier's own lines."""
    lines = run.stderr.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("Task ["))
    start = max(i for i, line in enumerate(lines[:end]) if line.startswith(" > Running task"))
    return "\n".join(lines[start + 1 : end])


def rename_package(project: Path, new: str, *, in_answers: bool) -> None:
    """Rename the package as the README says, in one commit: its folder, the old name
    everywhere it appears in both spellings (`git grep`) but uv.lock, the answers file
    only when `in_answers`, then `uv lock` (which renames it in uv.lock, in uv's order)."""
    git(project, "mv", str(SRC), f"src/{new}")
    spellings = {PACKAGE: new, PACKAGE.replace("_", "-"): new.replace("_", "-")}
    found = git(project, "grep", "-l", *(f"-e{old}" for old in spellings), "--", ":!uv.lock")
    for name in found.splitlines():
        if in_answers or name != ".copier-answers.yml":
            path = project / name
            text = path.read_text()
            for old, renamed in spellings.items():
                text = text.replace(old, renamed)
            path.write_text(text)
    subprocess.run([uv(), "lock", "--quiet"], cwd=project, check=True)
    commit_all(project, f"Rename the package to {new}")


def ruff_problems(ruff: Path, folder: Path) -> str:
    """What `ruff check` and `ruff format --check` find in a folder; "" when it is clean."""
    problems = []
    for command in (["check"], ["format", "--check", "--diff"]):
        run = subprocess.run(
            [str(ruff), *command, "--no-cache", "."], cwd=folder, capture_output=True, text=True
        )
        if run.returncode != 0:
            problems.append(f"ruff {' '.join(command)}:\n{run.stdout}{run.stderr}")
    return "\n".join(problems)


def template_debris(project: Path) -> list[str]:
    """Every file of a generated project that does not read as written by hand: Jinja
    left unrendered, a run of blank lines, trailing blanks or a ragged end."""
    found = []
    for path in sorted(project.rglob("*")):
        if not path.is_file() or ".git" in path.relative_to(project).parts:
            continue
        name, text = path.relative_to(project), path.read_text()
        debris = re.sub(r"\$\{\{[^}]*\}\}", "", text)  # GitHub Actions expressions are fine
        if re.search(r"\{\{|\{%|\{#", debris):
            found.append(f"{name}: unrendered Jinja")
        if "\n\n\n\n" in text:
            found.append(f"{name}: a run of blank lines")
        if re.search(r"[ \t]+$", text, flags=re.MULTILINE):
            found.append(f"{name}: trailing blanks")
        if not text.endswith("\n") or text.endswith("\n\n"):
            found.append(f"{name}: ragged end")
    return found
