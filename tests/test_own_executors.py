"""Executors people write themselves in executors.py are resources like the generated ones.

A project of every back end gets, below the "Your own executors" line, each further
resource its README shows (copied as a user copies it), a subclass of a generated class,
and an executor of a class no check knows; a task of its own uses thread and process
pools. Then `check` must take each by its class, the project's own tests must pass, and
the same tests must fail on an executor built outside executors.py. A dispatch that
fails on a hand-written instance is diagnosed against that instance, not its kind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from projects import (
    InstalledProject,
    Installer,
    executor_instances,
    private_copy,
    ruff_problems,
)
from questionnaire import BACKENDS, REGISTRY

from support import free_port

PACKAGE = "own_executors"
SRC = Path("src") / PACKAGE
MARKER = "# --- Your own executors"
FURTHER = [name for name in BACKENDS if REGISTRY[name].get("second_resource")]

# A subclass of a generated class (its base class's check), and a class no check knows.
OWN_CLASSES = """

class ScratchExecutor(ct.executor.LocalExecutor):
    \"\"\"Local processes in a scratch folder of the group's.\"\"\"


scratch = ScratchExecutor(workdir="/tmp/group-scratch")


class LabExecutor(ct.executor.BaseExecutor):
    \"\"\"An executor of the lab's own, with no check in readiness/.\"\"\"

    def run(self, function, args, kwargs, task_metadata):
        return function(*args, **kwargs)


lab = LabExecutor()
"""
# In-task parallelism, which is not a Covalent executor.
POOL_TASKS = '''

def simulate_all(points: list[float]) -> list[float]:
    """Each point in a thread of this task, then in a process."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(pool.map(simulate, points))
    with ProcessPoolExecutor(max_workers=1) as pool:
        return list(pool.map(simulate, threaded))
'''
POOL_TEST = f'''"""The task with pools runs as plain Python."""

from {PACKAGE} import tasks


def test_simulate_all_squares_twice() -> None:
    assert tasks.simulate_all([2.0]) == [16.0]
'''
STRAY = f'''"""A workflow that builds its own executor, against the pattern."""

import covalent as ct

from {PACKAGE} import executors, tasks

mine = ct.executor.LocalExecutor(workdir="/tmp/mine")
simulate = ct.electron(tasks.simulate, executor=mine)


@ct.lattice(executor=executors.local, workflow_executor=executors.local)
def workflow(points: int = 2) -> list:
    return [simulate(x) for x in range(points)]
'''
# Which check module takes each executor of executors.py, by name.
MODULES = f"""
import json
from {PACKAGE} import readiness
found = {{}}
for name, executor in readiness.resources().items():
    module = readiness.module_for(executor)
    found[name] = module and module.__name__.rpartition(".")[2]
print(json.dumps(found))
"""


def further_name(backend: str) -> str:
    """The instance name of the further resource the registry gives `backend`."""
    return f"{backend}_{REGISTRY[backend]['second_resource']['name']}"


def further_resources(readme: str) -> list[str]:
    """The code blocks of the README's further resources, as a user copies them."""
    pattern = r"A further resource of this kind.*?```python\n(.*?)```"
    return re.findall(pattern, readme, flags=re.DOTALL)


@pytest.fixture(scope="module")
def project(rendered, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = private_copy(rendered(BACKENDS, package_name=PACKAGE), tmp_path_factory.mktemp("own"))
    executors = path / SRC / "executors.py"
    blocks = further_resources((path / "README.md").read_text())
    executors.write_text(executors.read_text() + "".join(f"\n{b}" for b in blocks) + OWN_CLASSES)
    tasks = path / SRC / "tasks.py"
    tasks.write_text(tasks.read_text() + POOL_TASKS)
    (path / "tests" / "test_pools.py").write_text(POOL_TEST)
    return path


@pytest.fixture(scope="module")
def installed(project: Path, stack_python: Path, tmp_path_factory: pytest.TempPathFactory):
    installer = Installer(stack_python, tmp_path_factory.mktemp("own-covalent"))
    yield installer.install(project, editable=True)
    installer.uninstall_all()


def test_readme_shows_a_further_resource_for_each_back_end_but_local(project: Path) -> None:
    blocks = further_resources((project / "README.md").read_text())
    names = [executor_instances(block) for block in blocks]
    expected = [[(further_name(b), REGISTRY[b]["executor_class"])] for b in FURTHER]
    assert names == expected
    assert FURTHER == [b for b in BACKENDS if b != "local"]


def test_further_resources_as_copied_from_the_readme_are_lint_clean(
    project: Path, ruff: Path
) -> None:
    assert ruff_problems(ruff, project / SRC) == ""


def test_each_own_executor_gets_the_check_of_its_class(installed: InstalledProject) -> None:
    run = installed.run("-c", MODULES)
    assert run.returncode == 0, run.stderr
    modules = json.loads(run.stdout)
    for backend in FURTHER:
        assert modules[further_name(backend)] == modules[backend]
    assert modules["scratch"] == "local"  # a subclass: its base class's check
    assert modules["lab"] is None


def test_check_gives_each_own_executor_its_line(installed: InstalledProject) -> None:
    """Offline, as a user's first `check` is: every line is its resource's own."""
    names = ["dask_bigmem", "awsbatch_gpu", "azurebatch_gpu", "ecs_large", "scratch", "lab"]
    run = installed.run("-m", PACKAGE, "check", *names, timeout=120)
    lines = run.stdout.splitlines()
    print(f"\n{run.stdout}")

    assert [line.split(":")[0] for line in lines[:-1]] == names
    assert "dask_bigmem: NOT READY: no Covalent server" not in run.stdout  # its own address
    bigmem = "dask_bigmem: NOT READY: no Dask scheduler answers at tcp://bigmem.example.org:8786"
    assert bigmem in run.stdout
    assert "queue gpu-queue" in lines[1]
    assert "the pool gpu-pool" in lines[2]
    assert "lab: not checked: readiness/ has no check for LabExecutor or its bases." in lines
    assert lines[-1] == "0 of 5 ready; 1 without a check."
    assert run.returncode == 1


def test_setup_takes_any_instance_reached_over_ssh(installed: InstalledProject) -> None:
    run = installed.run("-m", PACKAGE, "setup", "nowhere")
    assert run.returncode == 2
    assert "choose from: ssh, slurm, hpc, ssh_gpu2, slurm_gpu, hpc_pbs" in run.stderr


# The project's tests that own executors and tasks concern (tests/test_generated_project.py
# runs all of them on the project as generated).
GUARDS = ["tests/test_executors.py", "tests/test_readiness.py"]


def test_project_tests_pass_with_own_executors_and_pools_in_tasks(
    installed: InstalledProject,
) -> None:
    options = ["-q", "-p", "no:cacheprovider", "-W", "ignore"]
    run = installed.run("-m", "pytest", *options, *GUARDS, "tests/test_pools.py")
    assert run.returncode == 0, run.stdout + run.stderr
    assert " passed" in run.stdout


def test_project_tests_fail_on_an_executor_built_outside_executors_py(
    installed: InstalledProject, project: Path
) -> None:
    stray = project / SRC / "workflows" / "stray.py"
    stray.write_text(STRAY)
    try:
        run = installed.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore", *GUARDS)
    finally:
        stray.unlink()
    assert run.returncode == 1
    assert "executors created outside executors.py: ['workflows/stray.py:7']" in run.stdout
    assert "tasks of stray on an executor not in executors.py: ['simulate']" in run.stdout


SECOND_DASK = """

# A second Dask cluster.
dask_second = ct.executor.DaskExecutor(scheduler_address="tcp://127.0.0.1:{port}")
"""
SECOND_WORKFLOW = '''"""The example sweep on the second Dask cluster."""

from {package} import executors
from {package}.workflows import sweep_on

workflow = sweep_on(executors.dask_second, light=executors.local)
'''


def test_a_failure_on_an_own_executor_is_diagnosed_against_it(
    rendered, install_project, covalent_server, tmp_path: Path
) -> None:
    """Two Dask clusters, both down: the tasks fail on the second, a hand-written
    instance of the same class, and only it may be named (a diagnosis by kind would
    name both)."""
    package, first, second = "own_dead", free_port(), free_port()
    answers = {"package_name": package, "dask_scheduler_address": f"tcp://127.0.0.1:{first}"}
    path = private_copy(rendered(["local", "dask"], **answers), tmp_path)
    executors = path / "src" / package / "executors.py"
    executors.write_text(executors.read_text() + SECOND_DASK.format(port=second))
    workflow = SECOND_WORKFLOW.format(package=package)
    (path / "src" / package / "workflows" / "second.py").write_text(workflow)
    project = install_project(path, env=covalent_server.env)

    run = project.run("-m", package, "second", timeout=300)
    print(f"\n{run.stderr[-1500:]}")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    # Told once: the tasks by resource, then each distinct error with the tasks it hit.
    assert run.stderr.startswith("5 tasks failed on dask_second: simulate (4), where_am_i\n")
    assert run.stderr.count("Error in ") == 1
    expected = f"dask_second: NOT READY: no Dask scheduler answers at tcp://127.0.0.1:{second}"
    assert expected in run.stderr
    assert f"`python -m {package} check dask_second` checks it again." in run.stderr
    assert f"127.0.0.1:{first}" not in run.stderr
