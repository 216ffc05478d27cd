"""Cloud back ends, which cannot run here: offline, credential-free checks of the real code.

No AWS, Google Cloud or Azure service is reachable from this machine, so nothing is
dispatched. Each generated project is installed for real, and its executors module and
workflow graph are built in a process with the network refused and no credentials.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import REGISTRY, answers_for

CLOUD_BACKENDS = ["awsbatch", "gcpbatch", "azurebatch", "ec2"]

PROBE = """
import copy, json, os, socket, sys

def refuse(*args, **kwargs):
    raise OSError("network refused by the test")

socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
before = dict(os.environ)

from {package} import executors
from {package}.workflows import {backend} as module

changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
lattice = copy.deepcopy(module.workflow)
lattice.build_graph(points=2)
graph = lattice.transport_graph
names = {{n: graph.get_node_value(n, "name") for n in graph._graph.nodes}}
tasks = [n for n, name in names.items() if not name.startswith(":parameter:")]
data = [graph.get_node_value(n, "metadata")["executor_data"] for n in tasks]
print(json.dumps({{
    "env_changed": changed,
    "tasks": len(tasks),
    "on_shared_instance": sum(d == executors.{backend}.to_dict() for d in data),
    "short_names": sorted({{d["short_name"] for d in data}}),
    "class": type(executors.{backend}).__name__,
}}))
"""


@pytest.mark.parametrize("backend", CLOUD_BACKENDS)
def test_cloud_project_imports_and_builds_its_graph_offline_without_credentials(
    copie, install_project, tmp_path: Path, backend: str
) -> None:
    package = f"cloud_{backend}"
    result = copie.copy(extra_answers=answers_for([backend], package_name=package))
    assert result.exception is None, result.exception
    project = install_project(result.project_dir)
    home = tmp_path / "empty-home"  # no ~/.aws, ~/.config/gcloud or ~/.azure
    home.mkdir()
    project.env = {
        key: value
        for key, value in project.env.items()
        if not key.startswith(("AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_"))
    } | {"HOME": str(home)}

    run = project.run("-c", PROBE.format(package=package, backend=backend))

    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe["class"] == REGISTRY[backend]["executor_class"]
    assert probe["env_changed"] == [], "building the executors changed the environment"
    assert probe["short_names"] == [backend]
    assert probe["on_shared_instance"] == probe["tasks"] >= 5
    assert os.listdir(home) == [], "building the executors wrote to the home directory"
