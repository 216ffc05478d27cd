"""Set-up for copier-covalent in one command each; needs only Python 3.10+ and git.

    python3 dev.py demo    # generate a demo project and run its workflow on Covalent
    python3 dev.py demo --stop  # stop the demo's Covalent server, from any directory
    python3 dev.py test    # run the template's test suite (extra arguments go to pytest)
    python3 dev.py lock    # re-lock the tested stack after a pin changed (includes/stack/)
    python3 dev.py refresh # re-lock to the newest versions the pins allow, run the suite

Each command first builds (or reuses) the pinned tool environment in .venv: uv, at the
version includes/backends.yml pins, then Copier (pinned there too) and
requirements-dev.txt installed with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import venv
from collections.abc import Callable, Iterator
from pathlib import Path

from support import BUILD, REPO, CovalentServer, bin_dir, free_port, synced

TOOLS = REPO / ".venv"
DEMO = BUILD / "demo"
PACKAGE = "my_covalent_workflows"  # the default package_name of the default project_name
# Test workers: most tests wait on subprocesses, Slurm jobs and polls, so one more than
# the cores keeps them busy (two more was slower on 2 cores: 1,341 s against 1,157 s);
# tests/scheduling.py says which tests share a worker.
WORKERS = min((os.cpu_count() or 1) + 1, 4)
# The tests' scratch (pytest's tmp_path, Copier's clones, pip's builds) goes to a tmpfs
# with this much room, where there is one: the suite writes and deletes 200,000 files,
# and on CI's virtual disk each written file costs about 5 times the CPU (test_update.py:
# 123 CPU-s and 78 s against 89 CPU-s and 47 s). Memory enough: 2 GB at the end of a run.
SCRATCH_TMPFS, SCRATCH_MIN_FREE = Path("/dev/shm"), 8 * 2**30


def pinned(name: str) -> str:
    """A version pinned in includes/backends.yml, uv_version or copier_version (read as
    text: no YAML library yet)."""
    text = (REPO / "includes" / "backends.yml").read_text()
    return re.search(rf'^{name}:.*?default: "([^"]+)"', text, re.M | re.S).group(1)


def quiet(command: list[str]) -> subprocess.CompletedProcess[str]:
    """Run a set-up command, its output shown only when it fails."""
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"\n{' '.join(command)} failed:\n{done.stdout}{done.stderr}", file=sys.stderr)
        raise SystemExit(done.returncode)
    return done


def tools_python(with_uv: Callable[[Path], object] = lambda uv: None) -> Path:
    """The tool environment, rebuilt only when requirements-dev.txt or a pin changes.

    pip installs uv alone (the one thing it must bootstrap): this Python's own pip
    when it has one (`pip --python`: no pip copied into .venv, 5 s less), else a pip
    made in .venv. uv installs the rest, while `with_uv(uv)` starts its own work.
    """
    requirements = REPO / "requirements-dev.txt"
    tools = [f"uv=={pinned('uv_version')}", f"copier=={pinned('copier_version')}"]
    stamp = hashlib.sha256("\0".join([*tools, requirements.read_text()]).encode()).hexdigest()
    marker, python = TOOLS / ".requirements-sha256", bin_dir(TOOLS) / "python"
    uv = bin_dir(TOOLS) / "uv"
    if marker.exists() and marker.read_text() == stamp and python.exists():
        with_uv(uv)
        return python
    venv.EnvBuilder(clear=True).create(TOOLS)
    pip = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", tools[0]]
    outer_pip = [sys.executable, *pip[:2], "--python", str(python), *pip[2:]]
    outer = subprocess.run(outer_pip, capture_output=True)
    if outer.returncode != 0:  # no pip here, or one older than --python (22.3)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        quiet([str(python), *pip])
    with_uv(uv)
    install = [str(uv), "pip", "install", "--quiet", "--compile-bytecode"]  # as pip does:
    install += ["--python", str(python), tools[1], "--requirement", str(requirements)]
    quiet(install)  # compiled, see support.synced
    marker.write_text(stamp)
    return python


class Stages:
    """The demo's progress, a line per stage: what it does, then how long it took."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    @contextlib.contextmanager
    def stage(self, what: str) -> Iterator[None]:
        print(f"  {what}...", end="", flush=True)
        began = time.monotonic()
        try:
            yield
        except BaseException:
            print(" failed", flush=True)
            raise
        print(f" {time.monotonic() - began:.1f} s", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def stop_demo() -> bool:
    """Stop the server (and its Dask cluster) of the last demo; False when none runs."""
    state = DEMO / "server.json"
    if not state.exists():
        return False
    previous = json.loads(state.read_text())
    CovalentServer(Path(previous["bin"]), Path(previous["root"]), previous["port"]).stop()
    state.unlink()
    return True


class HeadStart(threading.Thread):
    """The demo project's packages, installed into its future .venv while the tool
    environment is made and the project generated, so that `uv sync` later finds them
    there. The list is includes/stack/constraints.txt less what only other back ends
    need (includes/stack/owned.yml), as the template cuts it; `uv sync --locked`
    still decides, and a failure here only costs the time it saved."""

    def __init__(self, environment: Path, backends: tuple[str, ...] = ("local", "dask")) -> None:
        super().__init__(daemon=True)
        self.environment, self.backends = environment, backends

    def run(self) -> None:
        owned_text = (REPO / "includes" / "stack" / "owned.yml").read_text()
        owned = dict(re.findall(r"^    ([\w.-]+): \[(.*)\]$", owned_text, re.M))
        constraints = (REPO / "includes" / "stack" / "constraints.txt").read_text()
        wanted = []
        for line in constraints.splitlines():
            owners = owned.get(line.split("==")[0]) if "==" in line else ""
            if owners is None or set(owners.split(", ")) & set(self.backends):
                wanted.append(line)  # every project's, or one of these back ends'
        listing = DEMO / "head-start.txt"
        listing.write_text("\n".join(wanted) + "\n")
        uv = str(bin_dir(TOOLS) / "uv")
        python = bin_dir(self.environment) / "python"
        commands = [
            [uv, "venv", "--quiet", "--python", sys.executable, str(self.environment)],
            [uv, "pip", "install", "--quiet", "--no-deps", "--compile-bytecode"]
            + ["--python", str(python), "--requirement", str(listing)],
        ]
        for command in commands:
            if subprocess.run(command, capture_output=True).returncode != 0:
                return


def demo(argv: list[str]) -> int:
    """Generate the default project, install it, start Covalent, run the workflow; or,
    with --stop, stop what the last demo started."""
    if argv == ["--stop"]:
        print("Stopped the demo's Covalent server." if stop_demo() else "No demo is running.")
        return 0
    if argv:
        print("usage: python3 dev.py demo [--stop]", file=sys.stderr)
        return 2
    print(f"Demo: a project with the default answers, run on its own Covalent server in {DEMO}")
    stages = Stages()
    if stop_demo():
        print("  (stopped the previous demo's server)")
    shutil.rmtree(DEMO, ignore_errors=True)
    DEMO.mkdir(parents=True)
    project = DEMO / "my-covalent-workflows"
    head_start = HeadStart(project / ".venv")
    with stages.stage("Tool environment (uv, copier) in .venv"):
        tools_python(with_uv=lambda uv: head_start.start())
    copier = str(bin_dir(TOOLS) / "copier")
    options = ["--defaults", "--trust", "--vcs-ref=HEAD", "--quiet"]
    with stages.stage("Generating the project (copier copy)"):
        made = subprocess.run(
            [copier, "copy", *options, str(REPO), str(project)], capture_output=True, text=True
        )
        if made.returncode != 0:
            print(made.stdout + made.stderr, file=sys.stderr)
            return made.returncode
    with stages.stage("Installing its locked stack (uv sync)"):
        head_start.join()
        project_python = synced(project, project / ".venv", compile_bytecode=True)
    port = free_port(48008)
    server = CovalentServer(bin_dir(project / ".venv"), DEMO / "covalent", port)
    with stages.stage(f"Starting Covalent and its Dask cluster on port {port}"):
        server.start()
    (DEMO / "server.json").write_text(
        json.dumps({"bin": str(server.covalent.parent), "root": str(server.root), "port": port})
    )
    env_file = DEMO / "env.sh"
    env_file.write_text(
        "".join(
            f"export {key}={value}\n"
            for key, value in server.env.items()
            if key.startswith(("COVALENT_", "XDG_"))
        )
    )
    print(f"  Running the default workflow (python -m {PACKAGE}):", flush=True)
    run = subprocess.run([str(project_python), "-m", PACKAGE], cwd=project, env=server.env)
    print(
        f"""
Done in {stages.total():.0f} s.
Project:     {project}
Covalent UI: {server.url} (the server keeps running)

To work with them:
    cd {project} && . .venv/bin/activate && . {env_file}
    python -m {PACKAGE} dask  # another workflow
To stop the server and its Dask cluster, from any directory:
    python3 {REPO / "dev.py"} demo --stop"""
    )
    return run.returncode


def test(pytest_args: list[str]) -> int:
    """Run the template's tests with the tool environment, in WORKERS processes (-n N
    chooses, -n 0 runs them in this one), the tests that share a host in one of them.

    The real SSH and Slurm tests need root and the Debian packages that
    .ci/install-services.sh installs (.ci/run does); without them they skip, saying why.
    """
    python = tools_python()
    if not any("xdist" in arg or arg.startswith(("-n", "--numprocesses")) for arg in pytest_args):
        pytest_args = ["-n", str(WORKERS), *pytest_args]
    # Bytecode written as on a developer's machine: with PYTHONDONTWRITEBYTECODE (set on
    # CI machines) every process compiles again each module of the virtualenvs the tests
    # make (the all-back-ends project's checks: 55 CPU-s with it, 35 without).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    if "TMPDIR" not in env and (scratch := tmpfs_scratch()):
        env["TMPDIR"] = str(scratch)
        pytest_args = ["-o", "tmp_path_retention_count=1", *pytest_args]  # RAM, not disk
    command = [str(python), "-m", "pytest", *pytest_args]
    return subprocess.run(command, cwd=REPO, env=env).returncode


def tmpfs_scratch() -> Path | None:
    """A folder on SCRATCH_TMPFS for the tests' temporary files, if it has the room
    (a container's /dev/shm often has 64 MB); open to all like /tmp, as the test users'
    processes may be handed it."""
    try:
        room = os.statvfs(SCRATCH_TMPFS)
    except OSError:
        return None
    if room.f_bavail * room.f_frsize < SCRATCH_MIN_FREE:
        return None
    scratch = SCRATCH_TMPFS / f"copier-covalent-tests-{os.getuid()}"
    scratch.mkdir(exist_ok=True)
    scratch.chmod(0o1777)
    return scratch


def lock(args: list[str], script: str = "stack_lock.py") -> int:
    """Re-lock the tested stack (tests/stack_lock.py says how; --upgrade, --check)."""
    python = tools_python()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
    command = [str(python), str(REPO / "tests" / script), *args]
    return subprocess.run(command, cwd=REPO, env=env).returncode


def refresh(args: list[str]) -> int:
    """Re-lock to the newest versions and run the suite on them (tests/refresh_stack.py)."""
    return lock(args, "refresh_stack.py")


def main(argv: list[str]) -> int:
    commands = {"demo": demo, "test": test, "lock": lock, "refresh": refresh}
    if not argv or argv[0] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
