"""Named resources of every back end that takes them, offline.

One project of every back end, each `<backend>_resources` answered with the registry's
example (second_resource, the one its README shows): each entry must be an instance of
its back end's class in executors.py, built with no environment change, that its back
end's example workflow uses, and `--list`, `check` and `setup` must know it like any
other instance. tests/test_answer_space.py draws other answers; the real Slurm and SSH
runs are in tests/test_real_backends.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from projects import listing, ruff_problems, template_debris
from questionnaire import BACKENDS, QUESTIONS, REGISTRY

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


def test_each_resource_keyword_is_an_answer_or_has_its_plugins_default(
    stack_python: Path,
) -> None:
    """The validator refuses a resource equal to its back end's instance by comparing
    each keyword with the answer that sets it or, where none does, the plugin's own
    default, which the registry copies: a plugin release that changes it must fail here."""
    code = (
        "import json, sys, warnings; warnings.simplefilter('ignore'); import covalent\n"
        "from covalent.executor import _executor_manager as m\n"
        "print(json.dumps({k: getattr(sys.modules.get(c.__module__), "
        "'_EXECUTOR_PLUGIN_DEFAULTS', {})\n"
        "    for k, c in m.executor_plugins_map.items()}, default=str))"
    )
    run = subprocess.run([stack_python, "-c", code], capture_output=True, text=True, check=True)
    plugin_defaults = json.loads(run.stdout.splitlines()[-1])
    for backend in NAMED:
        keywords = REGISTRY[backend]["resource_settings"]
        if keywords == "sbatch":
            continue
        defaults = REGISTRY[backend].get("resource_defaults", {})
        for keyword in keywords:
            answer = keyword if keyword.startswith(f"{backend}_") else f"{backend}_{keyword}"
            if answer in QUESTIONS:
                assert keyword not in defaults, f"{backend}: {keyword} is the answer {answer}"
            else:
                assert keyword in defaults, f"{backend}: --{keyword} has no answer and no default"
                assert defaults[keyword] == str(plugin_defaults[backend][keyword]), (
                    f"{backend}: the plugin's default of {keyword} is now "
                    f"{plugin_defaults[backend][keyword]!r}"
                )
        assert set(defaults) <= set(keywords), f"{backend}: a default of no keyword"


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

    resources = listing(installed.run("-m", PACKAGE, "--list").stdout)
    for backend in NAMED:
        assert resources[backend] == f"on local, {backend}, {instance(backend)}"
    check = installed.run("-m", PACKAGE, "check", "dask_bigmem", "awsbatch_gpu", timeout=120)
    assert check.stdout.startswith(
        "dask_bigmem: NOT READY: no Dask scheduler answers at tcp://bigmem.example.org:8786"
    ), check.stdout
    assert "awsbatch_gpu: NOT READY: " in check.stdout and "queue gpu-queue" in check.stdout
    setup = installed.run("-m", PACKAGE, "setup", "nowhere")
    assert "choose from: ssh, ssh_gpu2, slurm, slurm_gpu, hpc, hpc_pbs\n" in setup.stderr
