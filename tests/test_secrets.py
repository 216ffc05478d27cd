"""A secret given by any route a user might try never reaches disk or Covalent's graph.

A recognisable canary goes in through Copier (--data, the user's Copier settings, the
environment) and through Covalent (covalent.conf and the environment where executors
are built). It must not appear in the generated tree, the answers file, the executors'
data or a workflow's transport graph. Azure, whose plugin insists on holding its secret,
gets it on the server at run time instead: that is checked too.
"""

from __future__ import annotations

import json
from pathlib import Path

import copier
import yaml
from questionnaire import BACKENDS, answers_for

CANARY = "CANARY-7f3a9c-do-not-store"
SECRET_KEYS = [
    "azurebatch_client_secret",
    "client_secret",
    "hpc_password",
    "password",
    "ssh_password",
    "aws_secret_access_key",
    "aws_access_key_id",
    "gcpbatch_credentials",
    "credentials",
]
SECRET_ENV = {
    "AZURE_CLIENT_SECRET": CANARY,
    "AWS_SECRET_ACCESS_KEY": CANARY,
    "AWS_ACCESS_KEY_ID": CANARY,
    "AWS_SESSION_TOKEN": CANARY,
}
COVALENT_CONF_SECRETS = f"""
[executors.azurebatch]
client_secret = "{CANARY}"

[executors.hpc]
password = "{CANARY}"
"""

PROBE = """
import copy, json, pathlib, sys, tempfile
from covalent._dispatcher_plugins.local import LocalDispatcher
from covalent.executor import _executor_manager
from covalent.executor.base import _AbstractBaseExecutor
from {package} import executors

# What a dispatch would send the server: the manifest and the files it points to.
graphs = []
for backend in {backends!r}:
    module = __import__("{package}.workflows." + backend, fromlist=["workflow"])
    lattice = copy.deepcopy(module.workflow)
    lattice.build_graph(points=2)
    with tempfile.TemporaryDirectory() as storage:
        manifest = LocalDispatcher.prepare_manifest(lattice, storage)
        files = b"".join(p.read_bytes() for p in pathlib.Path(storage).rglob("*") if p.is_file())
        graphs.append(manifest.model_dump_json() + files.decode("latin-1"))

# What the Covalent server does with a task's executor: rebuild it from its data.
server_side = _executor_manager.get_executor("azurebatch_env")
server_side.from_dict(executors.azurebatch.to_dict())

print(json.dumps({{
    "executor_data": [
        e.to_dict() for e in vars(executors).values() if isinstance(e, _AbstractBaseExecutor)
    ],
    "graphs": graphs,
    "server_secret_ok": server_side.client_secret == {canary!r},
    "server_credentials_ok": server_side._validate_credentials(raise_exception=False),
}}, default=str))
"""


def test_secret_given_by_any_route_is_stored_nowhere(
    template_files: Path, install_project, tmp_path: Path, monkeypatch
) -> None:
    for name, value in SECRET_ENV.items():
        monkeypatch.setenv(name, value)
    settings = tmp_path / "copier-settings.yml"
    settings.write_text(yaml.safe_dump({"defaults": dict.fromkeys(SECRET_KEYS, CANARY)}))
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))
    package = "secret_check"

    # Rendered here, not shared: the Copier settings above are part of what is tested.
    destination = tmp_path / "project"
    copier.run_copy(
        str(template_files),
        destination,
        data=answers_for(BACKENDS, package_name=package)
        | dict.fromkeys(SECRET_KEYS, CANARY),  # what --data would pass
        defaults=True,
        unsafe=True,
        quiet=True,
    )

    leaks = [
        str(path.relative_to(destination))
        for path in destination.rglob("*")
        if path.is_file() and CANARY.encode() in path.read_bytes()
    ]
    assert leaks == [], f"the canary was written to {leaks}"

    project = install_project(destination)
    config = Path(project.env["COVALENT_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "covalent.conf").write_text(COVALENT_CONF_SECRETS)
    project.env.update(SECRET_ENV)

    run = project.run("-c", PROBE.format(package=package, backends=BACKENDS, canary=CANARY))

    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert CANARY not in json.dumps(probe["executor_data"]), "an executor holds the secret"
    assert all(CANARY not in graph for graph in probe["graphs"]), "the secret is in a graph"
    assert probe["server_secret_ok"] and probe["server_credentials_ok"]
