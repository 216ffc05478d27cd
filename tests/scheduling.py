"""Which tests share a worker when dev.py test runs them in parallel (pytest-xdist).

Each test is its own unit of work, except where tests share a costly set-up that a
second worker would build again, or a machine-wide resource two workers must not use
at once. (xdist's --dist=loadgroup groups by a mark, but its renaming of test ids has no
effect with pytest 9.2, so the grouping is a scheduler of our own.)
"""

from __future__ import annotations

from typing import Any

import pytest

# The modules on the session's Covalent server (`covalent_server`, which `services`
# uses too): the real services share the machine's Slurm (/etc/slurm), its test users
# and their virtualenvs, and each worker would otherwise start a server and Dask
# cluster of its own that keeps using CPU until the session ends. One worker, one
# module after the other.
ON_THE_SERVER = (
    "tests/test_dispatch.py",
    "tests/test_own_executors.py",
    "tests/test_own_executors_real.py",
    "tests/test_readiness.py",
    "tests/test_real_backends.py",
)
# Modules that run last, when the other workers are done or nearly: the demo starts a
# Covalent server with its Dask cluster, as a user's first run does, and that start took
# 186 s, and once over its 300 s bound, beside the session's first minutes (the stack
# and three Pythons' environments synced, servers starting); alone it takes 24 s.
LAST = ("tests/test_demo.py",)
# Modules whose module-scoped fixture builds template releases: one worker each.
WHOLE = ("tests/test_migrations.py", "tests/test_template_update.py")
# Modules whose module-scoped fixture is parametrized (a project synced and a server
# started per Python): one worker per parameter.
BY_PARAMETER = ("tests/test_quiet_stack.py",)


def unit(nodeid: str) -> str:
    """The unit of work a test belongs to."""
    module = nodeid.split("::")[0]
    if module in ON_THE_SERVER:
        return "on the Covalent server"
    if module in WHOLE:
        return module
    if module in BY_PARAMETER and "[" in nodeid:
        return module + nodeid[nodeid.index("[") :]
    return nodeid


def unlisted(items: list[pytest.Item]) -> list[str]:
    """Modules on the session's server that ON_THE_SERVER does not name."""
    return sorted(
        {
            item.nodeid.split("::")[0]
            for item in items
            if "covalent_server" in item.fixturenames
            and item.nodeid.split("::")[0] not in ON_THE_SERVER
        }
    )


class Units:
    """pytest-xdist's scheduling by scope, each scope a `unit`."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling

        class Scheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid: str) -> str:
                return unit(nodeid)

        return Scheduling(config, log)
