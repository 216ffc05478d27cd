"""`python3 dev.py demo`, the README's first command, run from a clone of the template as
a newcomer runs it: it says what it does from its first line, each stage with its time,
reaches COMPLETED on a real Covalent server, and the one command it prints at the end
stops that server and its Dask cluster from any other directory.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from projects import make_template_clone

from support import REPO, port_open, process_tree

STAGES = [
    "Tool environment (uv, copier) in .venv",
    "Generating the project (copier copy)",
    "Installing its locked stack (uv sync)",
    "Starting Covalent and its Dask cluster on port",
    "Running the default workflow",
]


def test_demo_says_each_stage_completes_and_its_printed_stop_works_from_anywhere(
    tmp_path: Path,
) -> None:
    clone = make_template_clone(tmp_path)
    (clone / ".venv").symlink_to(REPO / ".venv")  # the tool environment, built already
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COVALENT_", "XDG_"))}
    demo = subprocess.run(
        ["python3", str(clone / "dev.py"), "demo"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line.strip() for line in demo.stdout.splitlines()]
    printed = [line for line in lines if line.endswith("dev.py demo --stop")]
    stop = printed[-1] if printed else f"python3 {clone / 'dev.py'} demo --stop"
    state_file = clone / "build" / "demo" / "server.json"
    assert state_file.exists(), demo.stdout + demo.stderr  # its server never came up
    state = json.loads(state_file.read_text())
    pid = int(next((Path(state["root"]) / "cache").rglob("ui.pid")).read_text())
    started = process_tree({pid})  # the server and its Dask cluster
    try:
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert lines[0].startswith("Demo: a project with the default answers"), lines[0]
        said = lines[1 : len(STAGES) + 1]
        assert [s.startswith(stage) for s, stage in zip(said, STAGES, strict=True)] == [True] * 5
        assert all(line.endswith(" s") for line in said[:4]), said
        assert "COMPLETED" in demo.stdout
        assert printed == [f"python3 {clone / 'dev.py'} demo --stop"]
        assert port_open("127.0.0.1", state["port"]) and len(started) > 1
    finally:  # from another directory, in a shell without the demo's environment
        stopped = subprocess.run(
            stop.split(), cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
        )
    assert stopped.stdout.strip() == "Stopped the demo's Covalent server.", stopped
    assert not port_open("127.0.0.1", state["port"])
    assert not process_tree(started), "the server or its Dask cluster is still running"
    again = subprocess.run(stop.split(), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.stdout.strip() == "No demo is running."
