"""Cloud back ends, which cannot run here: offline, credential-free checks of the real code.

No AWS, Google Cloud or Azure service is reachable from this machine, so nothing is
dispatched. Each generated project is installed for real, and its executors module and
workflow graph are built in a process with the network refused and no credentials.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from questionnaire import BACKENDS, REGISTRY

# The back ends that cannot run here: the registry marks them "offline".
CLOUD_BACKENDS = [name for name, entry in REGISTRY.items() if entry["tested"] == "offline"]

# Start of each probe: refuse the network, remember the environment.
OFFLINE = """
import os, socket

def refuse(*args, **kwargs):
    raise OSError("network refused by the test")

socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse
before = dict(os.environ)
"""

PROBE = (
    OFFLINE
    + """
import copy, json

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
    "short_name": executors.{backend}.short_name(),
}}))
"""
)


@pytest.mark.parametrize("backend", CLOUD_BACKENDS)
def test_cloud_project_imports_and_builds_its_graph_offline_without_credentials(
    rendered, install_project, tmp_path: Path, backend: str
) -> None:
    package = f"cloud_{backend}"
    project = install_project(rendered([backend], package_name=package))
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
    assert probe["short_names"] == [probe["short_name"]]
    assert probe["short_name"].startswith(backend)  # azurebatch_env: the project's subclass
    assert probe["on_shared_instance"] == probe["tasks"] >= 5
    assert os.listdir(home) == [], "building the executors wrote to the home directory"


SIDE_EFFECTS_PROBE = (
    OFFLINE
    + """
import {package}.executors
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print("changed:", changed)
"""
)


def test_importing_every_backends_executors_has_no_side_effects(
    rendered, install_project, tmp_path: Path
) -> None:
    """No network, no environment change (even when covalent.conf names an AWS
    credentials file, which makes AWS executors export it), no files outside Covalent's
    own config folders."""
    package = "quiet_import"
    path = rendered(BACKENDS, package_name=package)
    project = install_project(path)
    home = tmp_path / "empty-home"
    home.mkdir()
    project.env["HOME"] = str(home)
    config = Path(project.env["COVALENT_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "covalent.conf").write_text(
        '[executors.awsbatch]\ncredentials = "/srv/aws/credentials"\n'
        '[executors.ec2]\ncredentials_file = "/srv/aws/credentials"\n'
    )
    tree_before = sorted(p.name for p in path.rglob("*") if ".git" not in p.parts)

    run = project.run("-c", SIDE_EFFECTS_PROBE.format(package=package))

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "changed: []"
    # The Slurm plugin makes its cache folder in ~/.config/covalent, Covalent's own.
    own = home / ".config" / "covalent"
    outside = [p for p in home.rglob("*") if p != own.parent and not p.is_relative_to(own)]
    assert outside == [], "importing the executors wrote outside Covalent's config"
    assert sorted(p.name for p in path.rglob("*") if ".git" not in p.parts) == tree_before


# What `check` must name on a machine with nothing set up for the back end, and what a
# user of it has in place instead (files under HOME, variables, programs on PATH).
MISSING = {
    "awsbatch": ['no AWS profile "default" in ~/.aws/credentials', "aws configure --profile"],
    "gcpbatch": ["no Application Default Credentials", "gcloud auth application-default login"],
    "azurebatch": ["no AZURE_CLIENT_SECRET in the environment of this shell", "export AZURE_"],
    "ec2": ['no AWS profile "default"', "no terraform on PATH", "no key file"],
}
# `python -m PACKAGE check` with the network refused
CHECK = OFFLINE + "import runpy\nrunpy.run_module({package!r}, run_name='__main__')\n"
AWS_CREDENTIALS = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"


def provide(backend: str, home: Path, env: dict[str, str], answers: dict) -> None:
    """Put in place what a user of `backend` has; none of it is a real credential."""
    if backend in ("awsbatch", "ec2"):
        (home / ".aws").mkdir()
        (home / ".aws" / "credentials").write_text(AWS_CREDENTIALS)
    if backend == "ec2":
        key = Path(answers["ec2_ssh_key_file"].replace("~", str(home), 1))
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
        terraform = shutil.which("terraform")  # only looked for: a stand-in where absent
        if terraform is None:
            terraform = home / "bin" / "terraform"
            terraform.parent.mkdir()
            terraform.write_text("#!/bin/sh\nexit 0\n")
            terraform.chmod(0o755)
        env["PATH"] = f"{Path(terraform).parent}:{env['PATH']}"
    if backend == "gcpbatch":
        adc = home / ".config" / "gcloud" / "application_default_credentials.json"
        adc.parent.mkdir(parents=True)
        adc.write_text('{"type": "authorized_user"}\n')
    if backend == "azurebatch":
        env["AZURE_CLIENT_SECRET"] = "not-a-secret"


@pytest.mark.parametrize("backend", CLOUD_BACKENDS)
def test_check_of_a_cloud_backend_names_what_is_missing_offline_and_what_it_cannot_check(
    rendered, install_project, tmp_path: Path, backend: str
) -> None:
    assert set(MISSING) == set(CLOUD_BACKENDS), "say what check names for each cloud back end"
    package = f"cloud_{backend}"
    path = rendered([backend], package_name=package)
    project = install_project(path)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        key: value
        for key, value in project.env.items()
        if not key.startswith(("AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_"))
    } | {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    project.env = env

    bare = project.run("-c", CHECK.format(package=package), "check")
    provide(backend, home, env, yaml.safe_load((path / ".copier-answers.yml").read_text()))
    ready = project.run("-c", CHECK.format(package=package), "check")
    print(f"\n{bare.stdout}{ready.stdout}")

    assert bare.returncode == 1, bare.stdout + bare.stderr
    assert bare.stdout.startswith(f"{backend}: NOT READY: ")
    for words in MISSING[backend]:
        assert words in bare.stdout
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.startswith(f"{backend}: ready: ")
    assert "Not checked from here: that the " in ready.stdout
    assert "not-a-secret" not in ready.stdout + ready.stderr + bare.stdout + bare.stderr
