"""Cloud back ends, which cannot run here: offline, credential-free checks of the real code.

No AWS, Google Cloud, Azure or Oracle Cloud service is reachable from this machine, so
nothing is dispatched. Each generated project is installed for real, and its executors
module and workflow graph are built in a process with the network refused and no
credentials. The scripts of the task images a project brings (ECS, Lambda) run tasks
the way their plugins hand them over, against stand-ins for AWS (fake_aws.py).
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from questionnaire import BACKENDS, CONFIG, QUESTIONS, REGISTRY

# The back ends that cannot run here: the registry marks them "offline".
CLOUD_BACKENDS = [name for name, entry in REGISTRY.items() if entry["tested"] == "offline"]
# Where a user keeps cloud credentials and settings; left out of every probe's environment.
CLOUD_VARIABLES = ("AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_", "OCI_", "COVALENT_EXEC_BASE_URI")


@functools.cache
def python_of(stack_python: Path) -> str:
    """The stack's Python minor version ("3.11")."""
    code = "import sys; print('%d.%d' % sys.version_info[:2])"
    return subprocess.run([stack_python, "-c", code], capture_output=True, text=True).stdout.strip()


def answers_here(backend: str, stack_python: Path) -> dict[str, str]:
    """The back end's answers besides the examples: a task image of the stack's Python."""
    question = f"{backend}_python_version"
    return {question: python_of(stack_python)} if question in QUESTIONS else {}


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
    rendered, install_project, stack_python: Path, tmp_path: Path, backend: str
) -> None:
    package = f"cloud_{backend}"
    answers = answers_here(backend, stack_python)
    project = install_project(rendered([backend], package_name=package, **answers))
    home = tmp_path / "empty-home"  # no ~/.aws, ~/.config/gcloud, ~/.azure or ~/.oci
    home.mkdir()
    project.env = {
        key: value for key, value in project.env.items() if not key.startswith(CLOUD_VARIABLES)
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
        '[executors.ecs]\ncredentials = "/srv/aws/credentials"\n'
        '[executors.awslambda]\ncredentials_file = "/srv/aws/credentials"\n'
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
    "oci": ["no readable OCI config file ~/.oci/config", "oci setup config"],
    "ecs": ['no AWS profile "default"', "no COVALENT_EXEC_BASE_URI in the environment of"],
    "awslambda": ['no AWS profile "default" in ~/.aws/credentials', "aws configure --profile"],
}
# `python -m PACKAGE check` with the network refused
CHECK = OFFLINE + "import runpy\nrunpy.run_module({package!r}, run_name='__main__')\n"
AWS_CREDENTIALS = "[default]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n"
# An OCI config file's DEFAULT profile, of the region of the rules' example OCIDs (iad)
OCI_CONFIG = """[DEFAULT]
user = ocid1.user.oc1..aaaaaaaaexample
fingerprint = 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff
tenancy = ocid1.tenancy.oc1..aaaaaaaaexample
region = us-ashburn-1
key_file = ~/.oci/oci_api_key.pem
"""
ECS_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/covalent-ecs-task:test"
# What provide() puts in place that check may look for but never show.
NEVER_SHOWN = ["not-a-secret", "ocid1.user.oc1", "ocid1.tenancy.oc1", "00:11:22:33", "not a key"]


def provide(backend: str, home: Path, env: dict[str, str], answers: dict) -> None:
    """Put in place what a user of `backend` has; none of it is a real credential."""
    if REGISTRY[backend].get("exports_aws_env"):  # an AWS back end
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
    if backend == "ecs":
        env["COVALENT_EXEC_BASE_URI"] = ECS_IMAGE  # as in the shell that starts the server
    if backend == "oci":
        (home / ".oci").mkdir()
        (home / ".oci" / "config").write_text(OCI_CONFIG)
        (home / ".oci" / "oci_api_key.pem").write_text("not a key\n")  # only looked for


@pytest.mark.parametrize("backend", CLOUD_BACKENDS)
def test_check_of_a_cloud_backend_names_what_is_missing_offline_and_what_it_cannot_check(
    rendered, install_project, stack_python: Path, tmp_path: Path, backend: str
) -> None:
    assert set(MISSING) == set(CLOUD_BACKENDS), "say what check names for each cloud back end"
    package = f"cloud_{backend}"
    path = rendered([backend], package_name=package, **answers_here(backend, stack_python))
    project = install_project(path)
    home = tmp_path / "home"
    home.mkdir()
    project.env = {
        key: value for key, value in project.env.items() if not key.startswith(CLOUD_VARIABLES)
    } | {"HOME": str(home), "PATH": "/usr/bin:/bin"}

    bare = project.run("-c", CHECK.format(package=package), "check")
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    provide(backend, home, project.env, answers)  # what a user then sets up
    ready = project.run("-c", CHECK.format(package=package), "check")
    print(f"\n{bare.stdout}{ready.stdout}")

    assert bare.returncode == 1, bare.stdout + bare.stderr
    assert bare.stdout.startswith(f"{backend}: NOT READY: ")
    for words in MISSING[backend]:
        assert words in bare.stdout
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert ready.stdout.startswith(f"{backend}: ready: ")
    assert "Not checked from here: that the " in ready.stdout
    shown = ready.stdout + ready.stderr + bare.stdout + bare.stderr
    assert not [value for value in NEVER_SHOWN if value in shown]


FAKE_AWS = str(Path(__file__).with_name("fake_aws.py"))
# The back ends whose projects bring a task image (docker/<name>.Dockerfile) and the
# script it runs (docker/<name>_task.py): task_image in the registry.
IMAGE_BACKENDS = [name for name, entry in REGISTRY.items() if entry.get("task_image")]
# What each one's plugin makes of a failed task.
FAILED_TASK = {
    "ecs": "Exception: Task failed with exit code 1.",
    "awslambda": "RuntimeError: ZeroDivisionError: division by zero",
}


@pytest.mark.parametrize("backend", IMAGE_BACKENDS)
def test_task_image_script_runs_tasks_as_the_plugin_hands_them_over(
    rendered, install_project, stack_python: Path, tmp_path: Path, backend: str
) -> None:
    """The plugin's own run() sends two of the project's tasks, as Covalent's dispatcher
    wraps them, to the image's script: one returns its result, one fails and the plugin
    says so. AWS is a stand-in (fake_aws.py); the image itself is not built here (no
    Docker engine), so what its Dockerfile installs is checked against the pins only."""
    package = f"cloud_{backend}"
    path = rendered([backend], package_name=package, **answers_here(backend, stack_python))
    project = install_project(path)
    project.env = {
        key: value for key, value in project.env.items() if not key.startswith(CLOUD_VARIABLES)
    } | {
        "FAKE_AWS": str(tmp_path),
        "FAKE_AWS_SCRIPT": str(path / "docker" / f"{backend}_task.py"),
        "COVALENT_EXEC_BASE_URI": ECS_IMAGE,  # read by the ECS plugin when it is imported
    }

    run = project.run(FAKE_AWS, str(path / "src"), package, backend)

    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert backend in FAILED_TASK, f"add to FAILED_TASK what the {backend} plugin reports"
    assert report["outcomes"] == [{"result": 9}, {"error": FAILED_TASK[backend]}]
    if backend == "ecs":  # the image's own command runs the task, in the image named
        registered = [
            call["RegisterTaskDefinition"]
            for call in report["calls"]
            if "RegisterTaskDefinition" in call
        ]
        containers = [c for definition in registered for c in definition["containerDefinitions"]]
        assert [c["image"] for c in containers] == [ECS_IMAGE, ECS_IMAGE]
        assert not [c for c in containers if {"command", "entryPoint"} & set(c)]
    dockerfile = (path / "docker" / f"{backend}.Dockerfile").read_text()
    assert f"FROM python:{python_of(stack_python)}-slim" in dockerfile
    for item in CONFIG["covalent_requirements"]["default"]:
        assert f'"{item["requirement"]}"' in dockerfile
    assert f"COPY docker/{backend}_task.py ." in dockerfile
    # built from the project's root: every package below the pins at uv.lock's version
    assert "COPY constraints.txt /tmp/constraints.txt" in dockerfile
    assert (
        "pip install --no-cache-dir --root-user-action=ignore -c /tmp/constraints.txt" in dockerfile
    )
