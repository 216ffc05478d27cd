"""Generated executors dispatched for real: external Dask, sshd, and Slurm behind sshd.

Each project is generated with answers that point at a real service on loopback and
set up the way its README tells a user to (a Host alias in ~/.ssh/config for the port,
a remote virtualenv with the pinned versions, the Slurm job script copied over). All
the while the test user has a job waiting in a partition under maintenance, as users
often have on a cluster; PSI/J lists all of a user's jobs whenever it polls. Where
the services cannot run (not root, packages missing) these tests skip with the reason;
with REQUIRE_REAL_BACKENDS=1 (set by .ci/run) that skip is a failure instead.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from commands import Dispatch
from projects import InstalledProject, Installer, private_copy
from questionnaire import REGISTRY
from services import DOWN, LOGIN, LOGIN2, LOGIN3, TEST_USER, Services, run_as

DOWN_SETTING = {"ssh": "ssh_hostname", "slurm": "slurm_address"}  # where DOWN goes
# The named resources of the "named" projects: the test cluster's other partitions, and
# the test sshd through two more Host aliases (to SSH, two more machines).
NAMED = {
    "slurm": "gpu: --partition=gpu --time=00:20:00; bigmem: --partition=bigmem --mem=256M",
    "ssh": f"gpu2: --hostname={LOGIN2}; gpu3: --hostname={LOGIN3}",
}
NAMED_INSTANCES = {
    "slurm": {"slurm_gpu": "gpu", "slurm_bigmem": "bigmem"},  # and the partition of each
    "ssh": {"ssh_gpu2": None, "ssh_gpu3": None},
}
# Each project is one of these: as generated, with an unreachable host, or with NAMED.
VARIANTS = ["up", "named", "down"]


def settings(backend: str, services: Services) -> dict[str, object]:
    """The answers a user of each real back end gives."""
    venv = services.remote_python.parent.parent
    answers = {
        "local": {},
        "dask": {"dask_scheduler_address": services.dask_address},
        "ssh": {
            "ssh_hostname": LOGIN,
            "ssh_username": TEST_USER,
            "ssh_python_path": str(services.remote_python),
        },
        "hpc": {
            "hpc_address": LOGIN,
            "hpc_username": TEST_USER,
            "hpc_remote_python_exe": str(services.remote_python),
        },
        "slurm": {
            "slurm_address": LOGIN,
            "slurm_username": TEST_USER,
            "slurm_venv": str(venv),
            "slurm_options": f"--partition={services.slurm.partition} --time=00:05:00",
        },
    }
    assert backend in answers, (
        f"{backend} is tested for real (includes/backends.yml): add the answers that point "
        "it at its service here, and start the service in the `services` fixture"
    )
    return answers[backend]


BROKEN = """\
import covalent as ct

from {package} import executors


@ct.electron(executor=executors.{backend})
def fail(x: int) -> int:
    raise ValueError(f"cannot handle {{x}}")


@ct.lattice(executor=executors.{backend}, workflow_executor=executors.{backend})
def workflow() -> int:
    return fail(7)
"""


def make_project(
    rendered, install, tmp_path: Path, services: Services, backend: str, variant: str = "up"
) -> tuple[InstalledProject, str]:
    """Generate, set up as the README says, install; return the installed project.

    In variant "down" the back end's host is an alias where nothing listens; in "named"
    the project has the named resources NAMED gives."""
    package = f"real_{backend}" if variant == "up" else f"real_{backend}_{variant}"
    answers = settings(backend, services)
    if variant == "down":
        answers[DOWN_SETTING[backend]] = DOWN
    if variant == "named":
        answers[f"{backend}_resources"] = NAMED[backend]
    path = private_copy(rendered([backend], package_name=package, **answers), tmp_path)
    (path / "src" / package / "workflows" / "broken.py").write_text(
        BROKEN.format(package=package, backend=backend)
    )
    project = install(path, env=services.server.env)
    if variant != "down" and backend in ("slurm", "hpc"):
        # README: `python -m PACKAGE setup NAME` writes the Slurm job script, or PSI/J's
        # Slurm fix, into the venv (not while a job of another project reads it: a job of
        # an unreachable one never does, and a file that is right already is not written
        # again). The venv is there already: setup changes nothing else.
        named = NAMED_INSTANCES.get(backend, {}) if variant == "named" else {}
        for name in [backend, *named]:
            run = project.run("-m", package, "setup", name)
            assert run.returncode == 0, run.stdout + run.stderr
    if variant == "named":  # every named resource is ready, as its back end's is
        run = project.run("-m", package, "check", timeout=300)
        print(f"\n$ python -m {package} check\n{run.stdout}")
        names = [backend, *NAMED_INSTANCES[backend]]
        assert [line.split(": ")[:2] for line in run.stdout.splitlines()[:-1]] == [
            [name, "ready"] for name in names
        ], run.stdout + run.stderr
        assert run.returncode == 0
    return project, package


SLOWEST = ["hpc", "slurm", "ssh", "dask", "local"]
# What each test dispatches, by its name and back end: (back end, variant, workflow).
DISPATCHED = {
    "test_workflow_completes_on_the_real_backend": lambda b: (b, "up", b),
    "test_electron_that_raises_comes_back_failed_with_its_error": lambda b: (b, "up", "broken"),
    "test_unreachable_host_fails_in_bounded_time_naming_the_backend": lambda b: (b, "down", b),
    "test_named_resources_each_run_their_task_where_they_say": lambda b: (b, "named", b),
}


@pytest.fixture(scope="module")
def waiting_job(services: Services) -> Iterator[str]:
    """A job of the test user that waits through the module with a reason of several
    words, as a user's own jobs do on a cluster before its maintenance ("ReqNodeNotAvail,
    Reserved for maintenance"): every poll that lists all of the user's jobs sees it."""
    partition = services.slurm.maintenance_partition
    submit = ["sbatch", "--parsable", f"--partition={partition}", "--output=/dev/null"]
    job = run_as(TEST_USER, *submit, "--wrap=true").strip()
    try:
        for _ in range(20):
            # the reason as PSI/J reads it: squeue -O
            squeue = ["squeue", "--noheader", f"--jobs={job}", "-O", "Reason"]
            reason = run_as(TEST_USER, *squeue).strip()
            if " " in reason:
                break
            time.sleep(0.5)
        assert " " in reason, f"job {job} in partition {partition} waits for {reason!r}"
        yield job
    finally:
        with contextlib.suppress(subprocess.SubprocessError):  # the controller may be down
            subprocess.run(["scancel", job], capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def dispatches(
    request: pytest.FixtureRequest,
    waiting_job: str,
    services: Services,
    rendered,
    stack_python: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[tuple[str, str, str], Dispatch]]:
    """Every dispatch the selected tests of this module check, all started at once, while
    the test user has a job waiting in a partition whose node is down.

    Each mostly waits on a remote side (an SSH login, a Slurm job, the HPC plugin's poll
    of at least 30 s), so together they take as long as the slowest, not the sum. Each
    test then checks its own dispatch, by (back end, variant, workflow).
    """
    keys = sorted(
        {
            DISPATCHED[item.originalname](item.callspec.params["backend"])
            for item in request.session.items
            if item.module is request.module and item.originalname in DISPATCHED
        }
    )
    root = tmp_path_factory.mktemp("dispatches")
    installer = Installer(stack_python, root / "covalent")
    started: dict[tuple[str, str, str], Dispatch] = {}
    try:
        # The slowest first, so that they run while the others are installed.
        by_speed = lambda k: (SLOWEST.index(k[0]), VARIANTS.index(k[1]))  # noqa: E731
        projects = sorted({k[:2] for k in keys}, key=by_speed)
        for backend, up in projects:
            project, package = make_project(
                rendered, installer.install, root / f"{backend}-{up}", services, backend, up
            )
            for workflow in [w for b, u, w in keys if (b, u) == (backend, up)]:
                log = root / f"{backend}-{up}-{workflow}"
                started[backend, up, workflow] = Dispatch(project, package, workflow, log)
        yield started
    finally:
        for dispatch in started.values():
            dispatch.process.kill()  # one a failed test left running
            dispatch.process.wait()
        installer.uninstall_all()


def output(run: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(run.stdout[run.stdout.index("{") :])


# The back ends that run here for real: the registry marks them "real".
REAL_BACKENDS = [name for name, entry in REGISTRY.items() if entry["tested"] == "real"]


@pytest.mark.parametrize("backend", REAL_BACKENDS)
def test_workflow_completes_on_the_real_backend(
    dispatches, services: Services, backend: str
) -> None:
    dispatch = dispatches[backend, "up", backend]
    run, seconds = dispatch.result()
    print(f"\n{backend}: dispatch to COMPLETED in {seconds:.1f} s (with the others)")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "Status: COMPLETED" in run.stdout
    result = output(run)
    assert result["summary"] == {"points": 4, "mean": 3.5, "max": 9}
    ran_on = result["ran_on"]
    if backend in ("ssh", "slurm", "hpc"):
        assert ran_on["user"] == TEST_USER  # not root: it crossed the SSH login
    if backend in ("slurm", "hpc"):
        assert ran_on["slurm_job_id"], "the task did not run inside a Slurm job"
    else:
        assert ran_on["slurm_job_id"] is None
    if backend == "dask":
        assert tasks_seen_by_scheduler(dispatch.project, services.dask_address) >= 5


@pytest.mark.parametrize("backend", ["ssh", "slurm"])
def test_named_resources_each_run_their_task_where_they_say(
    dispatches, services: Services, backend: str
) -> None:
    """The example of a back end with named resources: the sweep on the back end's own
    instance, one refinement on each named one; each task says where it ran."""
    run, seconds = dispatches[backend, "named", backend].result()
    print(f"\n{backend} with {NAMED[backend]}: COMPLETED in {seconds:.1f} s (with the others)")

    assert run.returncode == 0, run.stdout + run.stderr
    assert "Status: COMPLETED" in run.stdout
    result = output(run)
    assert result["summary"] == {"points": 4, "mean": 3.5, "max": 9}
    assert sorted(result["refined"]) == sorted(NAMED_INSTANCES[backend])
    own = services.slurm.partition if backend == "slurm" else None
    refined = result["refined"]
    partitions = {name: step["ran_on"]["slurm_partition"] for name, step in refined.items()}
    print(f"partitions: {backend} {result['ran_on']['slurm_partition']}, {partitions}")
    assert result["ran_on"]["slurm_partition"] == own
    assert partitions == NAMED_INSTANCES[backend]
    for name, step in refined.items():
        assert step["best"] == 9, name
        assert step["ran_on"]["user"] == TEST_USER, name  # it crossed the SSH login


def tasks_seen_by_scheduler(project: InstalledProject, address: str) -> int:
    """How many distinct tasks the external Dask scheduler ran: proof the work went there.

    The failing electron's dispatch runs beside this one and adds one task at most."""
    code = (
        "from distributed import Client\n"
        f"with Client({address!r}, timeout=10) as c:\n"
        "    log = c.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.transition_log))\n"
        "    print(len({entry[0] for entry in log}))\n"
    )
    run = project.run("-c", code)
    assert run.returncode == 0, run.stderr
    return int(run.stdout.strip())


@pytest.mark.parametrize("backend", ["dask", "ssh", "slurm", "hpc"])
def test_electron_that_raises_comes_back_failed_with_its_error(dispatches, backend: str) -> None:
    run, seconds = dispatches[backend, "up", "broken"].result()
    print(f"\n{backend}: failing electron reported in {seconds:.1f} s (with the others)")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert f"1 task failed on {backend}: fail\nError in fail:\n" in run.stderr
    assert "cannot handle 7" in run.stderr


@pytest.mark.parametrize("backend", ["ssh", "slurm"])
def test_unreachable_host_fails_in_bounded_time_naming_the_backend(
    dispatches, backend: str
) -> None:
    run, seconds = dispatches[backend, "down", backend].result()
    print(f"\n{backend}: unreachable host reported in {seconds:.1f} s (with the others)")
    print(run.stderr)  # the failure summary a user reads

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert f" failed on {backend}: " in run.stderr
    assert ":electron_" not in run.stderr, "Covalent's own names for its collecting tasks"
    assert seconds < 180


def test_stopped_slurm_controller_fails_in_bounded_time(
    dispatches, rendered, install_project, services: Services, tmp_path: Path
) -> None:
    """Runs last in this module: the controller stays down for the rest of it."""
    for dispatch in dispatches.values():
        dispatch.result()  # no job of another test may still need the controller
    project, package = make_project(rendered, install_project, tmp_path, services, "slurm")
    services.slurm.stop_controller()

    started = time.monotonic()
    run = project.run("-m", package, "slurm", timeout=600)
    seconds = time.monotonic() - started
    print(f"\nslurm: stopped controller reported in {seconds:.1f} s")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert " failed on slurm: " in run.stderr
    assert seconds < 300
