"""A generated project's task image script (docker/), run offline as its AWS plugin runs it.

No Docker engine and no AWS account are at hand, so the plugin's own `run()` drives
tasks with boto3's sessions replaced by stand-ins: S3 is a folder, STS names a made-up
account, ECS's RunTask runs docker/ecs_task.py in a process of its own with the
environment of the registered container, and Lambda's Invoke calls the handler of
docker/awslambda_task.py in a process of its own with the event the plugin sent. Each
task is what Covalent's dispatcher hands an executor: the electron's function wrapped by
covalent's `wrapper_fn`, arguments as TransportableObjects.

    python fake_aws.py PROJECT_SRC PACKAGE BACKEND    (the Covalent stack's Python)

prints one JSON line: each task's result or error, and what the plugin asked AWS for.
Run with FAKE_AWS (a folder for the buckets) and, for ECS, COVALENT_EXEC_BASE_URI set.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import runpy
import shutil
import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

sys.dont_write_bytecode = True  # the project's files stay as rendered (tests share them)
BUCKETS = Path(os.environ.get("FAKE_AWS", "."))
CALLS: list[dict[str, Any]] = []  # what the plugin asked for, in order


def _object(bucket: str, key: str) -> Path:
    path = BUCKETS / bucket / key
    if not path.is_file():
        raise ClientError({"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject")
    return path


class S3:
    def upload_file(self, filename: str, bucket: str, key: str) -> None:
        (BUCKETS / bucket).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(filename, BUCKETS / bucket / key)

    def upload_fileobj(self, fileobj: Any, bucket: str, key: str) -> None:
        (BUCKETS / bucket).mkdir(parents=True, exist_ok=True)
        (BUCKETS / bucket / key).write_bytes(fileobj.read())

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        shutil.copyfile(_object(bucket, key), filename)

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        _object(Bucket, Key)
        return {}


class STS:
    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/t", "UserId": "t"}


class ECS:
    definitions: dict[str, dict[str, Any]] = {}
    stopped: dict[str, tuple[str, int]] = {}  # task ARN: (family, exit code)

    def register_task_definition(self, **request: Any) -> dict[str, Any]:
        CALLS.append({"RegisterTaskDefinition": request})
        ECS.definitions[request["family"]] = request
        return {}

    def run_task(self, **request: Any) -> dict[str, Any]:
        CALLS.append({"RunTask": request})
        (container,) = ECS.definitions[request["taskDefinition"]]["containerDefinitions"]
        env = dict(os.environ) | {item["name"]: item["value"] for item in container["environment"]}
        run = subprocess.run([sys.executable, __file__, "--ecs-container"], env=env, check=False)
        arn = f"arn:aws:ecs:us-east-1:123456789012:task/cluster/{len(ECS.stopped)}"
        ECS.stopped[arn] = (request["taskDefinition"], run.returncode)
        return {"tasks": [{"taskArn": arn}]}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_tasks"
        return self

    def paginate(self, cluster: str, family: str, desiredStatus: str) -> list[dict[str, Any]]:
        return [{"taskArns": [arn for arn, (f, _) in ECS.stopped.items() if f == family]}]

    def describe_tasks(self, cluster: str, tasks: list[str]) -> dict[str, Any]:
        return {
            "tasks": [
                {
                    "taskArn": a,
                    "lastStatus": "STOPPED",
                    "containers": [{"exitCode": ECS.stopped[a][1]}],
                }
                for a in tasks
            ]
        }


class Lambda:
    def invoke(self, **request: Any) -> dict[str, Any]:
        CALLS.append({"Invoke": request})
        command = [sys.executable, __file__, "--lambda-call"]
        subprocess.run(command, input=request["Payload"], text=True, check=True)
        return {"StatusCode": 202}


class Session:
    def __init__(self, **options: Any) -> None:
        self.region_name = options.get("region_name")

    def client(self, name: str) -> Any:
        return {"s3": S3, "sts": STS, "ecs": ECS, "lambda": Lambda}[name]()


def wrapped(function: Any, *args: Any) -> tuple[Any, list[Any]]:
    """A task as Covalent's dispatcher hands it to an executor."""
    from covalent._workflow.transport import TransportableObject
    from covalent.executor.utils.wrappers import wrapper_fn

    task = partial(wrapper_fn, TransportableObject(function), [], [])
    return task, [TransportableObject(arg) for arg in args]


def run_tasks(src: str, package: str, backend: str) -> dict[str, Any]:
    sys.path.insert(0, src)
    boto3.Session = Session  # the plugins look it up when they call it
    executors = importlib.import_module(f"{package}.executors")
    importlib.import_module(f"{package}.workflows")  # registers tasks to pickle by value
    tasks = importlib.import_module(f"{package}.tasks")
    executor = getattr(executors, backend)
    executor.poll_freq = 0.1
    executor.cache_dir = str(BUCKETS / "cache")
    Path(executor.cache_dir).mkdir(parents=True, exist_ok=True)
    outcomes = []
    for node, (function, args) in enumerate([(tasks.simulate, [3]), (tasks.summarize, [[]])]):
        task, arguments = wrapped(function, *args)
        metadata = {"dispatch_id": "fake-dispatch", "node_id": node, "results_dir": ""}
        try:
            output = asyncio.run(executor.run(task, arguments, {}, metadata))
            outcomes.append({"result": output.get_deserialized()})
        except Exception as error:  # what the plugin makes of a failed task
            outcomes.append({"error": f"{type(error).__name__}: {error}"})
    return {"outcomes": outcomes, "calls": CALLS}


def in_the_cloud(kind: str) -> None:
    """The task's side: the project's script, with boto3's S3 client the stand-in."""
    boto3.client = lambda name, **options: Session().client(name)
    script = os.environ["FAKE_AWS_SCRIPT"]
    if kind == "--ecs-container":
        runpy.run_path(script, run_name="__main__")  # an exception exits 1, as in ECS
        return
    spec = importlib.util.spec_from_file_location("awslambda_task", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.handler(json.loads(sys.stdin.read()), None)


if __name__ == "__main__":
    if sys.argv[1].startswith("--"):
        in_the_cloud(sys.argv[1])
    else:
        print(json.dumps(run_tasks(*sys.argv[1:4]), default=repr))
