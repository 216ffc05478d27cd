"""CPU seconds by module and by test, printed after the tests, beside --durations.

On CI's two cores the suite's wall time cannot fall below half its CPU time, so where
the CPU goes says what to cut; wall time alone mixes it with waiting on remote work.
Counted: the test process and the subprocesses it waited for (pip, uv, Copier, project
commands). Not counted: daemons the tests start (sshd, Slurm, Covalent servers, Dask).
"""

from __future__ import annotations

import resource
from collections import defaultdict
from collections.abc import Generator
from typing import Any

import pytest

KEY = "cpu_seconds"
START = pytest.StashKey[float]()  # CPU seconds when the current phase began
SHOWN = 15  # modules listed, and tests


def cpu_seconds() -> float:
    """User and system time of this process and of its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuTime:
    """Measures each test (set-up, call and teardown) and adds it up by module."""

    def __init__(self) -> None:
        self.by_module: dict[str, float] = defaultdict(float)
        self.by_test: dict[str, float] = defaultdict(float)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator:
        report = (yield).get_result()
        # Each phase's report carries the CPU time since the previous phase ended (a copy
        # of the list: a report shares the item's, which every phase would add to).
        now = cpu_seconds()
        spent = (KEY, now - item.stash.get(START, now))
        report.user_properties = [*report.user_properties, spent]
        item.stash[START] = now

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> None:
        item.stash[START] = cpu_seconds()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for key, value in report.user_properties:
            if key == KEY:
                self.by_module[report.nodeid.split("::")[0]] += value
                self.by_test[report.nodeid] += value

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        total = sum(self.by_module.values())
        if not total:
            return
        terminalreporter.write_sep("=", f"CPU time by module: {total:.0f} s in all")
        for title, by in (("module", self.by_module), ("test", self.by_test)):
            if title == "test":
                terminalreporter.write_sep("-", f"the {SHOWN} tests that took most")
            for name, seconds in sorted(by.items(), key=lambda kv: -kv[1])[:SHOWN]:
                terminalreporter.write_line(f"{seconds:8.1f} s  {seconds / total:4.0%}  {name}")
