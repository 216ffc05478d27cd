"""Named resources of every back end that takes them, offline.

One project of every back end, each `<backend>_resources` answered with the registry's
example (second_resource, the one its README shows): each entry must be an instance of
its back end's class in executors.py, built with no environment change, that its back
end's example workflow uses, and `--list`, `check` and `setup` must know it like any
other instance. tests/test_answer_space.py draws other answers; the real Slurm and SSH
runs are in tests/test_real_backends.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import ruff_problems, template_debris
from questionnaire import BACKENDS, REGISTRY

PACKAGE = "named_resources"
NAMED = [b for b in BACKENDS if "resource_settings" in REGISTRY[b]]
EXAMPLES = {
    b: f"{REGISTRY[b]['second_resource']['name']}: {REGISTRY[b]['second_resource']['settings']}"
    for b in NAMED
}


def instance(backend: str) -> str:
    return f"{backend}_{REGISTRY[backend]['second_resource']['name']}"


@pytest.fixture(scope="module")
def project(rendered) -> Path:
    answers = {f"{b}_resources": example for b, example in EXAMPLES.items()}
    return rendered(BACKENDS, package_name=PACKAGE, **answers)


def test_every_back_end_but_local_takes_named_resources() -> None:
    assert NAMED == [b for b in BACKENDS if b != "local"]


def test_named_resources_render_lint_clean(project: Path, ruff: Path) -> None:
    assert template_debris(project) == []
    assert ruff_problems(ruff, project) == ""


def test_each_named_resource_is_its_classes_instance_and_its_example_uses_it(
    project: Path, project_probe
) -> None:
    reply = project_probe(project / "src", PACKAGE, BACKENDS)

    assert reply["ok"], reply["error"]
    executors = reply["executors"]
    for backend in NAMED:
        assert executors[instance(backend)]["class"] == REGISTRY[backend]["executor_class"]
        assert executors[instance(backend)] != executors[backend]
        workflow = reply["workflows"][backend]
        assert workflow["tasks"] == workflow["on_shared_executors"]
        assert workflow["on"] == sorted({"local", backend, instance(backend)})
    used = {name for workflow in reply["workflows"].values() for name in workflow["on"]}
    assert sorted(executors) == sorted(used), "every generated instance is used by an example"


def test_list_check_and_setup_know_each_named_resource(project: Path, install_project) -> None:
    installed = install_project(project)

    listed = installed.run("-m", PACKAGE, "--list").stdout.splitlines()
    resources = dict(line.split(maxsplit=1) for line in listed)
    for backend in NAMED:
        assert resources[backend] == f"on local, {backend}, {instance(backend)}"
    check = installed.run("-m", PACKAGE, "check", "dask_bigmem", "awsbatch_gpu", timeout=120)
    assert check.stdout.startswith(
        "dask_bigmem: NOT READY: no Dask scheduler answers at tcp://bigmem.example.org:8786"
    ), check.stdout
    assert "awsbatch_gpu: NOT READY: " in check.stdout and "queue gpu-queue" in check.stdout
    setup = installed.run("-m", PACKAGE, "setup", "nowhere")
    assert "choose from: ssh, ssh_gpu2, slurm, slurm_gpu, hpc, hpc_pbs\n" in setup.stderr
