"""Set-up for copier-covalent in one command each; needs only Python 3.10+ and git.

    python3 dev.py demo    # generate a demo project and run its workflow on Covalent
    python3 dev.py test    # run the template's test suite (extra arguments go to pytest)

Each command first builds (or reuses) the pinned tool environment in .venv.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from support import (
    BUILD,
    REPO,
    CovalentServer,
    bin_dir,
    ensure_venv,
    free_port,
)

TOOLS = REPO / ".venv"
DEMO = BUILD / "demo"
PACKAGE = "my_covalent_workflows"  # the default package_name of the default project_name


def tools_python() -> Path:
    """The tool environment, rebuilt only when requirements-dev.txt changes."""
    requirements = [
        line.split("#")[0].strip()
        for line in (REPO / "requirements-dev.txt").read_text().splitlines()
        if line.split("#")[0].strip()
    ]
    return ensure_venv(TOOLS, requirements)


def stop_previous_demo() -> None:
    """Stop a server left running by an earlier demo, so its folder can be replaced."""
    state = DEMO / "server.json"
    if state.exists():
        previous = json.loads(state.read_text())
        CovalentServer(Path(previous["bin"]), Path(previous["root"]), previous["port"]).stop()
    shutil.rmtree(DEMO, ignore_errors=True)


def demo() -> int:
    """Generate the default project, install it, start Covalent, run the workflow."""
    tools_python()
    stop_previous_demo()
    project = DEMO / "my-covalent-workflows"
    copier = str(bin_dir(TOOLS) / "copier")
    options = ["--defaults", "--trust", "--vcs-ref=HEAD", "--quiet"]
    subprocess.run([copier, "copy", *options, str(REPO), str(project)], check=True)
    print(f"Installing the project into {project / '.venv'} (a minute or two)...")
    project_python = ensure_venv(project / ".venv", [], editable=project)

    port = free_port(48008)
    server = CovalentServer(bin_dir(project / ".venv"), DEMO / "covalent", port)
    print(f"Starting Covalent on port {port}...")
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
    run = subprocess.run([str(project_python), "-m", PACKAGE], cwd=project, env=server.env)
    print(
        f"""
Project:     {project}
Covalent UI: {server.url} (the server keeps running)

To work with them:
    cd {project} && . .venv/bin/activate && . {env_file}
    python -m {PACKAGE} dask  # another workflow
    covalent stop  # when you are done"""
    )
    return run.returncode


def test(pytest_args: list[str]) -> int:
    """Run the template's tests with the tool environment.

    The real SSH and Slurm tests need root and the Debian packages that
    .ci/install-services.sh installs (.ci/run does); without them they skip, saying why.
    """
    python = tools_python()
    return subprocess.run([str(python), "-m", "pytest", *pytest_args], cwd=REPO).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "demo":
        return demo()
    return test(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
