"""Generated executors dispatched for real: external Dask, sshd, and Slurm behind sshd.

Each project is generated with answers that point at a real service on loopback and
set up the way its README tells a user to (a Host alias in ~/.ssh/config for the port,
a remote virtualenv with the pinned versions, the Slurm job script copied over). Where
the services cannot run (not root, packages missing) these tests skip with the reason;
with REQUIRE_REAL_BACKENDS=1 (set by .ci/run) that skip is a failure instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from questionnaire import CONFIG, answers_for
from services import (
    TEST_USER,
    SlurmCluster,
    can_run_services,
    dask_cluster,
    remote_python_env,
    slurm_cluster,
    ssh_server,
)

from support import CovalentServer, free_port

LOGIN = "covalent-login"  # the Host alias a user would put in ~/.ssh/config
DOWN = "covalent-down"  # an alias for a port where nothing listens
# What the generated READMEs tell users to install on the remote side.
REMOTE_REQUIREMENTS = [
    *(item["requirement"] for item in CONFIG["covalent_requirements"]["default"]),
    CONFIG["backend_registry"]["default"]["hpc"]["remote_requirement"],
]


@dataclass
class Services:
    """Everything a real dispatch needs: the session's server, and services started once
    for this module."""

    server: CovalentServer
    home: Path  # HOME of the Covalent server and the CLI: holds ~/.ssh
    remote_python: Path
    dask_address: str
    slurm: SlurmCluster


@pytest.fixture(scope="module")
def services(
    stack_python: Path, covalent_server: CovalentServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    reason = can_run_services()
    if reason:
        if os.environ.get("REQUIRE_REAL_BACKENDS") == "1":
            pytest.fail(f"real back ends required but unavailable: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("services")
    started = time.monotonic()
    remote_python = remote_python_env(TEST_USER, REMOTE_REQUIREMENTS)
    venv_seconds = time.monotonic() - started
    with (
        ssh_server(root / "sshd", port=free_port()) as sshd,
        slurm_cluster(root / "slurm") as slurm,
        dask_cluster(stack_python, free_port(), root / "dask") as dask_address,
    ):
        home = Path(covalent_server.env["HOME"])  # asyncssh reads ~/.ssh when it connects
        (home / ".ssh").mkdir(mode=0o700)
        # What the generated README tells a user: the key where the answers say, and a
        # Host alias because the plugins cannot take a port.
        shutil.copy(sshd.key_file, home / ".ssh" / "id_ed25519")
        (home / ".ssh" / "config").write_text(
            sshd.ssh_config(LOGIN).replace(str(sshd.key_file), "~/.ssh/id_ed25519")
            + f"Host {DOWN}\n  HostName 127.0.0.1\n  Port {free_port()}\n"
        )
        services_seconds = time.monotonic() - started - venv_seconds
        print(f"\nstart-up: remote venv {venv_seconds:.1f} s, services {services_seconds:.1f} s")
        yield Services(covalent_server, home, remote_python, dask_address, slurm)


def settings(backend: str, services: Services) -> dict[str, object]:
    """The answers a user of each real back end gives."""
    venv = services.remote_python.parent.parent
    return {
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
    }[backend]


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


def make_project(copie, install_project, services: Services, backend: str, **answers):
    """Generate, set up as the README says, install; return the installed project."""
    package = f"real_{backend}"
    result = copie.copy(
        extra_answers=answers_for([backend], package_name=package, **settings(backend, services))
        | answers
    )
    assert result.exception is None, result.exception
    path = result.project_dir
    (path / "src" / package / "workflows" / "broken.py").write_text(
        BROKEN.format(package=package, backend=backend)
    )
    if (path / "slurm" / "job-env.sh").exists():
        # README: scp slurm/job-env.sh LOGIN:<venv>/covalent-job-env.sh
        venv = services.remote_python.parent.parent
        subprocess.run(
            [
                "scp",
                "-q",
                "-F",
                str(services.home / ".ssh" / "config"),
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-i",
                str(services.home / ".ssh" / "id_ed25519"),
                str(path / "slurm" / "job-env.sh"),
                f"{LOGIN}:{venv}/covalent-job-env.sh",
            ],
            check=True,
        )
    return install_project(path, env=services.server.env), package


def dispatch(
    project, package: str, workflow: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    run = project.run("-m", package, workflow, timeout=600)
    return run, time.monotonic() - started


def output(run: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(run.stdout[run.stdout.index("{") :])


REAL_BACKENDS = ["local", "dask", "ssh", "slurm", "hpc"]


@pytest.mark.parametrize("backend", REAL_BACKENDS)
def test_workflow_completes_on_the_real_backend(
    copie, install_project, services: Services, backend: str
) -> None:
    project, package = make_project(copie, install_project, services, backend)

    run, seconds = dispatch(project, package, backend)
    print(f"\n{backend}: dispatch to COMPLETED in {seconds:.1f} s")

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
        assert tasks_seen_by_scheduler(project, services.dask_address) >= 5


def tasks_seen_by_scheduler(project, address: str) -> int:
    """How many distinct tasks the external Dask scheduler ran: proof the work went there."""
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
def test_electron_that_raises_comes_back_failed_with_its_error(
    copie, install_project, services: Services, backend: str
) -> None:
    project, package = make_project(copie, install_project, services, backend)

    run, seconds = dispatch(project, package, "broken")
    print(f"\n{backend}: failing electron reported in {seconds:.1f} s")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert f"Task fail (executor {backend}) failed" in run.stderr
    assert "cannot handle 7" in run.stderr


@pytest.mark.parametrize("backend", ["ssh", "slurm"])
def test_unreachable_host_fails_in_bounded_time_naming_the_backend(
    copie, install_project, services: Services, backend: str
) -> None:
    host = {"ssh": "ssh_hostname", "slurm": "slurm_address"}[backend]
    project, package = make_project(copie, install_project, services, backend, **{host: DOWN})

    run, seconds = dispatch(project, package, backend)
    print(f"\n{backend}: unreachable host reported in {seconds:.1f} s")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert f"(executor {backend}) failed" in run.stderr
    assert seconds < 180


def test_stopped_slurm_controller_fails_in_bounded_time(
    copie, install_project, services: Services
) -> None:
    """Runs last in this module: the controller stays down for the rest of it."""
    project, package = make_project(copie, install_project, services, "slurm")
    services.slurm.stop_controller()

    run, seconds = dispatch(project, package, "slurm")
    print(f"\nslurm: stopped controller reported in {seconds:.1f} s")

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert "(executor slurm) failed" in run.stderr
    assert seconds < 300
