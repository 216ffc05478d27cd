"""The generated default workflow runs to COMPLETED on a real Covalent server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from projects import private_copy
from questionnaire import DEFAULT_BACKENDS

BROKEN_WORKFLOW = """\
import covalent as ct

from proj_dispatch import executors


@ct.electron(executor=executors.local)
def fail(x: int) -> int:
    raise ValueError(f"cannot handle {x}")


@ct.lattice(executor=executors.local, workflow_executor=executors.local)
def workflow() -> int:
    return fail(7)
"""


@pytest.fixture
def default_project(rendered, install_project, tmp_path: Path):
    path = private_copy(rendered(DEFAULT_BACKENDS, package_name="proj_dispatch"), tmp_path)
    (path / "src" / "proj_dispatch" / "workflows" / "broken.py").write_text(BROKEN_WORKFLOW)
    return install_project(path)


def result_json(stdout: str) -> dict:
    return json.loads(stdout[stdout.index("{") :])


def test_default_and_dask_workflows_complete_on_a_real_server(
    default_project, covalent_server
) -> None:
    default_project.env = covalent_server.env
    for name in ([], ["dask"]):
        run = default_project.run("-m", "proj_dispatch", *name, timeout=300)

        assert run.returncode == 0, run.stdout + run.stderr
        assert "Status: COMPLETED" in run.stdout
        assert f"{covalent_server.url}/" in run.stdout  # where to see it in the UI
        output = result_json(run.stdout)
        assert output["summary"] == {"points": 4, "mean": 3.5, "max": 9}
        assert output["ran_on"]["host"]


def test_failing_electron_exits_non_zero_with_its_error(default_project, covalent_server) -> None:
    default_project.env = covalent_server.env
    run = default_project.run("-m", "proj_dispatch", "broken", timeout=300)

    assert run.returncode == 1
    assert "Status: FAILED" in run.stdout
    assert run.stderr.startswith("1 task failed on local: fail\nError in fail:\n"), run.stderr
    assert run.stderr.count("ValueError: cannot handle 7") == 1
    assert f"Each task in the Covalent UI: {covalent_server.url}/" in run.stderr


def test_cli_says_in_one_line_that_no_server_runs(default_project) -> None:
    run = default_project.run("-m", "proj_dispatch")

    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0
    assert "start one with `covalent start`" in run.stderr
    assert "Traceback" not in run.stderr
