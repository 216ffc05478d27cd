"""`python -m PACKAGE check` and `setup` of generated projects, against real services.

A new account on a cluster has nothing installed. For each back end that `setup`
prepares, a project that takes the default answers and points at a new account (made
anew for this module) is checked (it must name what is missing and the fix), set up,
checked again, set up a second time (nothing may change) and its workflow dispatched
to COMPLETED, as the generated README tells a user. The back ends go through this at
once, each with its own virtualenv. `setup` installs with pip on an account that has
only Python, and with uv where the account's owner installed uv (the README's advice):
ssh meets the first, the others the second (ACCOUNTS), so each way is taken from an
empty home. Then each condition that `check` knows is made for real, and `check` must
name it within its time bound.
"""

from __future__ import annotations

import json
import pwd
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from commands import Step, step
from projects import CONFIG, InstalledProject, Installer, overlay, private_copy, uv_pip
from questionnaire import REGISTRY
from releases import installed, pins
from services import (
    DOWN,
    FRESH_USER,
    FRESH_UV_USER,
    LOGIN,
    SILENT,
    Services,
    dask_cluster,
    other_minor_python,
    run_as,
)

from support import covalent_env, free_port

SETUP_BACKENDS = [name for name, entry in REGISTRY.items() if entry.get("setup")]
PINS = dict(
    item["requirement"].split("==")
    for item in CONFIG["covalent_requirements"]["default"]
    if "==" in item["requirement"]
)
ONE_OFF = "3.1.1"  # a cloudpickle release other than the pinned one
CHECK_SECONDS = 10  # each check's bound, as readiness/__init__.py sets it
WITHIN_BOUND = CHECK_SECONDS + 1  # what a check may report: its bound, and the loop's wake-up
# The new account of each back end's project, and the installer `setup` finds there.
ACCOUNTS = {
    "ssh": (FRESH_USER, "pip"),
    "slurm": (FRESH_UV_USER, "uv"),
    "hpc": (FRESH_UV_USER, "uv"),
}


def fresh_answers(backend: str, **answers: str) -> dict[str, str]:
    """A user's answers for the back end's new account: only the settings nobody can guess."""
    user = ACCOUNTS[backend][0]
    settings = {
        "ssh": {"ssh_hostname": LOGIN, "ssh_username": user},
        "slurm": {"slurm_address": LOGIN, "slurm_username": user},
        "hpc": {"hpc_address": LOGIN, "hpc_username": user},
    }
    assert backend in settings, f"{backend} has `setup`: add its answers and ACCOUNTS here"
    return {"package_name": f"fresh_{backend}", **settings[backend], **answers}


@dataclass
class Account:
    """A project of one back end on the fresh account, and what each step printed."""

    project: InstalledProject
    package: str
    steps: dict[str, Step] = field(default_factory=dict)
    seconds: float = 0.0  # from the first check to COMPLETED

    def walk(self, backend: str) -> Account:
        started = time.monotonic()
        for name, args in [
            ("check before", ["check", backend]),
            ("setup", ["setup", backend]),
            ("check after", ["check", backend]),
            ("setup again", ["setup", backend]),
            ("dispatch", [backend]),
        ]:
            self.steps[name] = step(self.project, self.package, *args)
        self.seconds = time.monotonic() - started
        return self


@pytest.fixture(scope="module")
def installer(stack_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installer]:
    installer = Installer(stack_python, tmp_path_factory.mktemp("readiness-covalent"))
    yield installer
    installer.uninstall_all()


@pytest.fixture(scope="module")
def make_project(rendered, installer: Installer, services: Services, tmp_path_factory):
    """`make_project(backends, **answers)`: generated, installed, run as the server's user."""

    def make(backends: list[str], **answers: str) -> tuple[InstalledProject, str]:
        path = private_copy(rendered(backends, **answers), tmp_path_factory.mktemp("project"))
        package = answers["package_name"]
        return installer.install(path, env=services.server.env, editable=True), package

    return make


@pytest.fixture(scope="module")
def accounts(make_project) -> dict[str, Account]:
    """Every back end with `setup`, from a new account to COMPLETED, all at once."""
    projects = {b: make_project([b], **fresh_answers(b)) for b in SETUP_BACKENDS}
    with ThreadPoolExecutor(len(projects)) as pool:
        walks = {b: pool.submit(Account(*projects[b]).walk, b) for b in projects}
        return {backend: walk.result() for backend, walk in walks.items()}


@pytest.mark.parametrize("backend", SETUP_BACKENDS)
def test_check_on_a_new_account_names_what_is_missing_and_the_fix(
    accounts: dict[str, Account], backend: str
) -> None:
    check = accounts[backend].steps["check before"]
    print(f"\n{backend}, new account: {check.run.stdout.strip()}")

    assert check.run.returncode == 1, check.out
    assert f"{backend}: NOT READY: " in check.run.stdout
    assert f"Fix: python -m fresh_{backend} setup {backend}." in check.run.stdout
    assert check.check_seconds and max(check.check_seconds) <= WITHIN_BOUND


@pytest.mark.parametrize("backend", SETUP_BACKENDS)
def test_setup_prepares_the_new_account_and_check_then_passes(
    accounts: dict[str, Account], backend: str
) -> None:
    setup, check = accounts[backend].steps["setup"], accounts[backend].steps["check after"]
    user, installer = ACCOUNTS[backend]
    print(f"\n{backend}: setup took {setup.seconds:.1f} s:\n{setup.run.stdout}")

    assert setup.run.returncode == 0, setup.out
    assert "created the virtualenv" in setup.run.stdout
    assert f" with {installer}" in setup.run.stdout
    assert f"{backend}: ready: {user}@{LOGIN}" in setup.run.stdout  # its own check
    assert check.run.returncode == 0, check.out
    for name, version in PINS.items():
        assert f"{name} {version}" in check.run.stdout
    # Everything covalent needs there is at the project's locked version, not the newest.
    venv = Path(pwd.getpwnam(user).pw_dir) / ".venvs" / f"fresh_{backend}"
    remote = installed(venv / "bin" / "python")
    locked = pins((accounts[backend].project.path / "constraints.txt").read_text())
    assert len(remote) > 50
    assert {pin for pin in remote if pin.split("==")[0] not in ("pip", "setuptools")} <= locked


@pytest.mark.parametrize("backend", SETUP_BACKENDS)
def test_setup_a_second_time_changes_nothing(accounts: dict[str, Account], backend: str) -> None:
    again = accounts[backend].steps["setup again"]

    assert again.run.returncode == 0, again.out
    assert again.run.stdout.startswith(f"{backend}: nothing to change.\n"), again.out
    assert f"{backend}: ready: " in again.run.stdout


@pytest.mark.parametrize("backend", SETUP_BACKENDS)
def test_workflow_completes_on_the_new_account_after_setup(
    accounts: dict[str, Account], backend: str
) -> None:
    account = accounts[backend]
    dispatch = account.steps["dispatch"]
    print(f"\n{backend}: new account to COMPLETED in {account.seconds:.1f} s with setup")

    assert dispatch.run.returncode == 0, dispatch.out
    assert "Status: COMPLETED" in dispatch.run.stdout
    result = json.loads(dispatch.run.stdout[dispatch.run.stdout.index("{") :])
    assert result["ran_on"]["user"] == ACCOUNTS[backend][0]


def test_check_names_a_remote_cloudpickle_one_release_off_and_a_failed_task_points_to_it(
    accounts: dict[str, Account],
) -> None:
    """Slurm jobs refuse another cloudpickle (the plugin checks), so the dispatch fails;
    its message must say why and name the check. Setup then repairs the account."""
    account = accounts["slurm"]
    user = ACCOUNTS["slurm"][0]
    home = pwd.getpwnam(user).pw_dir
    python = f"{home}/.venvs/fresh_slurm/bin/python"
    run_as(user, python, "-m", "pip", "install", "-q", f"cloudpickle=={ONE_OFF}")

    check = step(account.project, account.package, "check", "slurm")
    dispatch = step(account.project, account.package, "slurm")
    repair = step(account.project, account.package, "setup", "slurm")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)\n{dispatch.run.stderr[-600:]}")

    expected = f"cloudpickle {ONE_OFF} in a job's python on {user}@{LOGIN}, "
    expected += f"this project has {PINS['cloudpickle']}"
    assert check.run.returncode == 1
    assert expected in check.run.stdout
    assert dispatch.run.returncode == 1
    assert expected in dispatch.run.stderr
    assert "`python -m fresh_slurm check slurm` checks it again." in dispatch.run.stderr
    assert repair.run.returncode == 0, repair.out
    assert "slurm: ready: " in repair.run.stdout


def test_check_names_a_psij_without_the_slurm_fix_and_setup_writes_it(
    accounts: dict[str, Account],
) -> None:
    """The virtualenv of a project from before the fix, or one a user made: PSI/J's own
    Slurm executor would fail every task while one of the user's jobs waits."""
    account = accounts["hpc"]
    venv = Path(pwd.getpwnam(ACCOUNTS["hpc"][0]).pw_dir) / ".venvs" / "fresh_hpc"
    fix = next(venv.glob("lib/python3.*/site-packages/psij-descriptors/covalent_hpc_slurm.py"))
    fix.unlink()

    check = step(account.project, account.package, "check", "hpc")
    repair = step(account.project, account.package, "setup", "hpc")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)\n{repair.run.stdout}")

    assert check.run.returncode == 1
    assert check.run.stdout.startswith(
        f"hpc: NOT READY: PSI/J of {venv}/bin/python lacks the fix for Slurm"
        " reasons with spaces. Fix: python -m fresh_hpc setup hpc. ("
    ), check.run.stdout
    assert repair.run.returncode == 0, repair.out
    assert f"Wrote {fix}\n" in repair.run.stdout
    assert "hpc: ready: " in repair.run.stdout
    assert fix.exists()


def test_check_names_a_remote_python_of_another_minor_version_and_setup_replaces_it(
    accounts: dict[str, Account], make_project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    python, why = other_minor_python(Path("/tmp"))
    if python is None:
        pytest.skip(f"no other Python for the remote side: {why}")
    # On the account with uv: which installer replaces the venv is not the point here.
    user = FRESH_UV_USER
    run_as(user, str(python), "-m", "venv", "--without-pip", "venv-other")
    answers = fresh_answers("ssh", ssh_username=user, ssh_python_path="~/venv-other/bin/python")
    project, package = make_project(["ssh"], **answers)

    check = step(project, package, "check", "ssh")
    repair = step(project, package, "setup", "ssh")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)\n{repair.run.stdout}")

    minor = ".".join(python.name[6:].split(".")[:2])
    assert check.run.returncode == 1
    assert f"Python {minor} in ~/venv-other/bin/python on {user}@{LOGIN}" in check.out
    assert "Fix: python -m fresh_ssh setup ssh." in check.run.stdout
    assert repair.run.returncode == 0, repair.out
    assert "Removing ~/venv-other: not a working Python" in repair.run.stdout
    assert "ssh: ready: " in repair.run.stdout


def test_check_names_a_key_file_the_user_cannot_read(
    accounts: dict[str, Account], services: Services
) -> None:
    """Run as root without the capability to read any file, as a user is."""
    account, key = accounts["ssh"], services.home / ".ssh" / "id_ed25519"
    drop = "-dac_override,-dac_read_search"
    setpriv = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}"]
    key.chmod(0o000)
    try:
        started = time.monotonic()
        run = subprocess.run(
            [*setpriv, str(account.project.python), "-m", account.package, "check", "ssh"],
            cwd=account.project.path,
            env=account.project.env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        seconds = time.monotonic() - started
    finally:
        key.chmod(0o600)
    print(f"\n{run.stdout}({seconds:.1f} s)")

    assert run.returncode == 1, run.stdout + run.stderr
    assert f"key file {key} is not readable by this user" in run.stdout
    assert f"Fix: chmod 600 {key}." in run.stdout


def test_check_names_unreachable_hosts_within_its_bound(make_project) -> None:
    """DOWN refuses connections; SILENT accepts them and never answers, where the
    plugins would retry for half a minute."""
    project, package = make_project(
        ["ssh", "slurm"],
        package_name="fresh_unreachable",
        ssh_hostname=DOWN,
        ssh_username=FRESH_USER,
        slurm_address=SILENT,
        slurm_username=FRESH_USER,
    )

    check = step(project, package, "check")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)")

    assert check.run.returncode == 1
    assert f"ssh: NOT READY: nothing accepts SSH connections at {DOWN}." in check.run.stdout
    assert f"slurm: NOT READY: {SILENT} did not answer within 6 s." in check.run.stdout
    assert len(check.check_seconds) == 2 and max(check.check_seconds) <= WITHIN_BOUND


def test_check_names_dask_workers_with_another_cloudpickle(
    make_project, services: Services, stack_python: Path, tmp_path: Path
) -> None:
    """A worker environment like the stack but for its cloudpickle: a venv that sees the
    stack's packages after its own, which has only cloudpickle of another release."""
    venv = tmp_path / "worker-venv"
    python = overlay(stack_python, venv)
    site = next(venv.glob("lib/python3.*/site-packages"))
    uv_pip(stack_python, "install", "--no-deps", "--target", str(site), f"cloudpickle=={ONE_OFF}")
    env = covalent_env(tmp_path / "worker-covalent")
    good, good_package = make_project(
        ["dask"], package_name="dask_good", dask_scheduler_address=services.dask_address
    )
    with dask_cluster(python, free_port(), tmp_path / "dask", env) as address:
        bad, bad_package = make_project(
            ["dask"], package_name="dask_other", dask_scheduler_address=address
        )
        check = step(bad, bad_package, "check", "dask")
    ready = step(good, good_package, "check", "dask")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)\n{ready.run.stdout}")

    assert check.run.returncode == 1
    assert f"cloudpickle {ONE_OFF} in Dask worker tcp://127.0.0.1:" in check.run.stdout
    assert f"this project has {PINS['cloudpickle']}" in check.run.stdout
    assert ready.run.returncode == 0, ready.out
    assert f"dask: ready: {services.dask_address}, 1 worker: Python " in ready.run.stdout


def test_check_says_a_web_server_on_the_dask_address_is_not_a_scheduler(
    make_project, services: Services
) -> None:
    """The Covalent UI's port typed as the scheduler's: a real web server answers, and
    `check` says what it is within its bound, with nothing from Dask after it."""
    address = f"tcp://127.0.0.1:{services.server.port}"
    project, package = make_project(
        ["dask"], package_name="dask_web", dask_scheduler_address=address
    )
    check = step(project, package, "check", "dask")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)")

    assert check.run.returncode == 1
    assert check.run.stdout.startswith(
        f"dask: NOT READY: a web server (uvicorn) answers at {address}, not a Dask scheduler."
        " Fix: give scheduler_address the scheduler's port (8786 unless set; 8787 is its"
        " dashboard). ("
    ), check.run.stdout
    assert check.run.stderr == ""


def test_check_of_local_says_whether_the_covalent_server_answers(
    make_project, tmp_path: Path
) -> None:
    project, package = make_project(["local"], package_name="local_check")
    up = step(project, package, "check", "local")
    no_server = project.naming_plugins(covalent_env(tmp_path / "nothing"))
    down = step(project, package, "check", "local", env=no_server)

    assert up.run.returncode == 0, up.out
    assert "local: ready: the Covalent server answers at http://" in up.run.stdout
    assert down.run.returncode == 1
    assert "local: NOT READY: no Covalent server at http://" in down.run.stdout
    assert "Fix: covalent start." in down.run.stdout


def test_check_names_a_stopped_slurm_controller(
    accounts: dict[str, Account], services: Services
) -> None:
    """The last test of this module: the controller stays down."""
    account = accounts["slurm"]
    services.slurm.stop_controller()

    check = step(account.project, account.package, "check", "slurm")
    print(f"\n{check.run.stdout}({check.seconds:.1f} s)")

    assert check.run.returncode == 1
    assert "slurm: NOT READY: the Slurm controller does not answer" in check.run.stdout
    assert check.check_seconds and max(check.check_seconds) <= WITHIN_BOUND
