"""Hand-written executors on real services: checked, set up and dispatched by their names.

A project of local, ssh and slurm for the test user gets three resources of its own
below the "Your own executors" line, the way its README shows: `slurm_debug`, the test
cluster's second partition with a virtualenv of its own; `slurm_gpu`, an A100 partition
the cluster does not have; and `ssh_second`, the test sshd through a second Host alias with
a virtualenv of its own. The own virtualenvs do not exist at first, so `check` must name
what each of those lacks while the generated resources stay ready; `setup` by name makes
them (with the uv on the test user's PATH), and a workflow on each completes.
"""

from __future__ import annotations

import json
import pwd
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from commands import Dispatch, Step, step
from projects import InstalledProject, Installer, private_copy
from services import LOGIN, LOGIN2, TEST_USER, Services

PACKAGE = "own_real"
OWN = """

# The cluster's debug partition; its jobs run in a virtualenv of their own.
slurm_debug = ct.executor.SlurmExecutor(
    address="{login}",
    username="{user}",
    ssh_key_file="~/.ssh/id_ed25519",
    remote_workdir="covalent-workdir",
    options={{"partition": "{debug}", "time": "00:05:00"}},
    bashrc_path=slurm_venv("~/.venvs/slurm_debug"),
)

# An A100 partition, which this cluster does not have.
slurm_gpu = ct.executor.SlurmExecutor(
    address="{login}",
    username="{user}",
    ssh_key_file="~/.ssh/id_ed25519",
    remote_workdir="covalent-workdir",
    options={{"partition": "a100"}},
    bashrc_path=slurm_venv("{venv}"),
)

# A second machine (to SSH: another Host alias), with a virtualenv of its own.
ssh_second = ct.executor.SSHExecutor(
    hostname="{login2}",
    username="{user}",
    ssh_key_file="~/.ssh/id_ed25519",
    python_path="~/.venvs/ssh_second/bin/python",
    remote_workdir="covalent-workdir",
)
"""
WORKFLOW = '''"""The example sweep on {name}, summarised on local."""

from {package} import executors
from {package}.workflows import sweep_on

workflow = sweep_on(executors.{name}, light=executors.local)
'''
OWN_VENVS = ("slurm_debug", "ssh_second")
LOGINS = re.compile(rf"Accepted publickey for {TEST_USER} ")


def logins(services: Services) -> int:
    """How many SSH logins the test sshd has accepted for the test user so far."""
    log = services.sshd.key_file.parent / "sshd.out"
    return len(LOGINS.findall(log.read_text(errors="replace")))


@pytest.fixture(scope="module")
def project(
    rendered, services: Services, stack_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InstalledProject]:
    venv = services.remote_python.parent.parent
    answers = {
        "package_name": PACKAGE,
        "ssh_hostname": LOGIN,
        "ssh_username": TEST_USER,
        "ssh_python_path": str(services.remote_python),
        "slurm_address": LOGIN,
        "slurm_username": TEST_USER,
        "slurm_venv": str(venv),
        "slurm_options": f"--partition={services.slurm.partition} --time=00:05:00",
    }
    rendered_project = rendered(["local", "ssh", "slurm"], **answers)
    path = private_copy(rendered_project, tmp_path_factory.mktemp("own-real"))
    executors = path / "src" / PACKAGE / "executors.py"
    own = OWN.format(
        login=LOGIN,
        login2=LOGIN2,
        user=TEST_USER,
        debug=services.slurm.other_partition,
        venv=venv,
    )
    executors.write_text(executors.read_text() + own)
    for name in ("slurm_debug", "ssh_second"):
        module = path / "src" / PACKAGE / "workflows" / f"own_{name}.py"
        module.write_text(WORKFLOW.format(name=name, package=PACKAGE))
    home = Path(pwd.getpwnam(TEST_USER).pw_dir)
    for name in OWN_VENVS:  # a new resource: nothing made there yet
        shutil.rmtree(home / ".venvs" / name, ignore_errors=True)
    installer = Installer(stack_python, tmp_path_factory.mktemp("own-real-covalent"))
    installed = installer.install(path, env=services.server.env, editable=True)
    # The generated slurm's job script, as `setup slurm` writes it (its venv is there).
    run = installed.run("-m", PACKAGE, "setup", "slurm")
    assert run.returncode == 0, run.stdout + run.stderr
    yield installed
    installer.uninstall_all()


@pytest.fixture(scope="module")
def steps(project: InstalledProject, services: Services) -> dict[str, Step]:
    """check, setup of each own resource (at once), check, and a dispatch to each."""
    done: dict[str, Step] = {}
    before = logins(services)
    done["check before"] = step(project, PACKAGE, "check")
    done["logins"] = logins(services) - before  # type: ignore[assignment]
    with ThreadPoolExecutor(2) as pool:
        setups = {name: pool.submit(step, project, PACKAGE, "setup", name) for name in OWN_VENVS}
        for name, setup in setups.items():
            done[f"setup {name}"] = setup.result()
    done["check after"] = step(project, PACKAGE, "check")
    root = project.path.parent
    dispatches = {
        name: Dispatch(project, PACKAGE, f"own_{name}", root / f"dispatch-{name}")
        for name in OWN_VENVS
    }
    for name, dispatch in dispatches.items():
        run, seconds = dispatch.result()
        done[f"dispatch {name}"] = Step(run, seconds)
    return done


def lines(step: Step) -> dict[str, str]:
    """Each resource's line of a `check`, by name."""
    found = {}
    for line in step.run.stdout.splitlines():
        name, _, rest = line.partition(": ")
        if rest:
            found[name] = rest
    return found


def test_check_names_what_only_the_own_resources_lack(steps: dict[str, Step]) -> None:
    check = steps["check before"]
    print(f"\ncheck ({check.seconds:.1f} s):\n{check.run.stdout}")
    seen = lines(check)

    assert check.run.returncode == 1
    assert list(seen) == ["local", "ssh", "slurm", "slurm_debug", "slurm_gpu", "ssh_second"]
    for name in ("local", "ssh", "slurm"):
        assert seen[name].startswith("ready: "), seen[name]
    assert seen["slurm_debug"].startswith("NOT READY: a job's python on ")
    assert "cannot source ~/.venvs/slurm_debug/covalent-job-env.sh" in seen["slurm_debug"]
    assert f"Fix: python -m {PACKAGE} setup slurm_debug." in seen["slurm_debug"]
    assert seen["slurm_gpu"].startswith("NOT READY: no partition a100 on the cluster (there: ")
    expected = f"NOT READY: no Python ~/.venvs/ssh_second/bin/python on {TEST_USER}@{LOGIN2}"
    assert seen["ssh_second"].startswith(expected)
    assert f"Fix: python -m {PACKAGE} setup ssh_second." in seen["ssh_second"]
    assert check.run.stdout.splitlines()[-1] == "3 of 6 ready."


def test_resources_sharing_a_login_connect_to_it_once(steps: dict[str, Step]) -> None:
    """ssh, slurm, slurm_debug and slurm_gpu log in as one user at one alias; ssh_second
    at another: two logins for the six resources."""
    assert steps["logins"] == 2


@pytest.mark.parametrize("name", OWN_VENVS)
def test_setup_by_name_prepares_the_own_resource(steps: dict[str, Step], name: str) -> None:
    setup = steps[f"setup {name}"]
    print(f"\nsetup {name} ({setup.seconds:.1f} s):\n{setup.run.stdout}")

    assert setup.run.returncode == 0, setup.out
    assert f"{name}: created the virtualenv ~/.venvs/{name}" in setup.run.stdout
    assert "with uv" in setup.run.stdout
    assert f"{name}: ready: {TEST_USER}@" in setup.run.stdout


def test_check_after_setup_leaves_only_the_missing_partition(steps: dict[str, Step]) -> None:
    check = steps["check after"]
    seen = lines(check)
    print(f"\ncheck ({check.seconds:.1f} s):\n{check.run.stdout}")

    assert [name for name, line in seen.items() if not line.startswith("ready: ")] == ["slurm_gpu"]
    assert check.run.stdout.splitlines()[-1] == "5 of 6 ready."


def test_workflow_completes_on_the_own_slurm_partition(
    steps: dict[str, Step], services: Services
) -> None:
    dispatch = steps["dispatch slurm_debug"]
    print(f"\nslurm_debug: dispatch in {dispatch.seconds:.1f} s:\n{dispatch.run.stdout}")

    assert dispatch.run.returncode == 0, dispatch.out
    result = json.loads(dispatch.run.stdout[dispatch.run.stdout.index("{") :])
    job = result["ran_on"]["slurm_job_id"]
    assert result["ran_on"]["user"] == TEST_USER
    shown = subprocess.run(
        ["scontrol", "show", "job", job], capture_output=True, text=True, check=True
    ).stdout
    assert f"Partition={services.slurm.other_partition} " in shown


def test_workflow_completes_on_the_own_ssh_machine(steps: dict[str, Step]) -> None:
    dispatch = steps["dispatch ssh_second"]
    print(f"\nssh_second: dispatch to COMPLETED in {dispatch.seconds:.1f} s")

    assert dispatch.run.returncode == 0, dispatch.out
    result = json.loads(dispatch.run.stdout[dispatch.run.stdout.index("{") :])
    assert result["ran_on"]["user"] == TEST_USER
    assert result["summary"] == {"points": 4, "mean": 3.5, "max": 9}
