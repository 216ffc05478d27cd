"""Commands of generated projects, run as a user types them, with their time."""

from __future__ import annotations

import re
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from projects import InstalledProject


@dataclass
class Step:
    run: subprocess.CompletedProcess[str]
    seconds: float

    @property
    def out(self) -> str:
        return self.run.stdout + self.run.stderr

    @property
    def check_seconds(self) -> list[float]:
        """What a `check` says each resource's check took, the "(0.2 s)" ending its line:
        the check's own time, which the machine's load on Python's start-up leaves out."""
        return [float(found) for found in re.findall(r"\((\d+\.\d) s\)$", self.run.stdout, re.M)]


def step(project: InstalledProject, package: str, *args: str, env: dict | None = None) -> Step:
    """`python -m PACKAGE ARGS` in the project, as a user types it."""
    started = time.monotonic()
    run = subprocess.run(
        [str(project.python), "-m", package, *args],
        cwd=project.path,
        env=env or project.env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    return Step(run, time.monotonic() - started)


class Dispatch:
    """`python -m PACKAGE WORKFLOW` of an installed project, running in the background;
    a thread notes when it ends, so its time is its own, not when a test asked."""

    def __init__(self, project: InstalledProject, package: str, workflow: str, log: Path) -> None:
        self.project = project
        self.out, self.err = log.with_suffix(".out"), log.with_suffix(".err")
        self.started = time.monotonic()
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                [str(project.python), "-m", package, workflow],
                cwd=project.path,
                env=project.env,
                stdout=out,
                stderr=err,
                text=True,
            )
        self.ended = self.started
        self.waiter = threading.Thread(target=self._wait, daemon=True)
        self.waiter.start()

    def _wait(self) -> None:
        self.process.wait()
        self.ended = time.monotonic()

    def result(self, timeout: float = 600) -> tuple[subprocess.CompletedProcess[str], float]:
        """Wait for it; its output and how long it ran."""
        self.waiter.join(timeout=max(0, self.started + timeout - time.monotonic()))
        if self.waiter.is_alive():
            raise TimeoutError(f"{self.process.args} still runs after {timeout} s")
        run = subprocess.CompletedProcess(
            self.process.args, self.process.returncode, self.out.read_text(), self.err.read_text()
        )
        return run, self.ended - self.started
