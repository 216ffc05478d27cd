"""Build the executors and workflow graphs of many generated projects in one process.

Run with the shared stack's Python. Importing covalent takes seconds, and the
property-based tests check dozens of rendered projects, so this process stays up and
imports each project's package from its src/ folder in turn, as the installed project
would be imported, then forgets it.

Protocol: one JSON object per line on stdin, {"src": ..., "package": ..., "backends": [...]};
for each, one JSON line on stdout: {"ok": true, "executors": {...}, "workflows": {...}} or
{"ok": false, "error": "<traceback>"}.
"""

from __future__ import annotations

import copy
import importlib
import json
import sys
import traceback
from typing import Any

import covalent as ct
from covalent.executor import _executor_manager
from covalent.executor.base import _AbstractBaseExecutor

sys.dont_write_bytecode = True  # the projects' files stay as rendered (tests share them)


def register_plugin(package: str, plugin_module: str) -> None:
    """What the project's entry point does once it is installed beside the server."""
    module = importlib.import_module(f"{package}.{plugin_module}")
    _executor_manager._populate_executor_map_from_module(module)
    name = module.EXECUTOR_PLUGIN_NAME
    setattr(ct.executor, name, getattr(module, name))


def plain(value: Any) -> Any:
    """The value as JSON can carry it, or its repr."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return repr(value)


def probe(src: str, package: str, backends: list[str], plugin_modules: list[str]) -> dict[str, Any]:
    """Import the project's executors, build each workflow's graph, report what they hold.

    `plugin_modules` are the project's own executor plugins (the registry's plugin_module).
    """
    sys.path.insert(0, src)
    try:
        for plugin_module in plugin_modules:
            register_plugin(package, plugin_module)
        executors = importlib.import_module(f"{package}.executors")
        shared = {
            name: value
            for name, value in vars(executors).items()
            if isinstance(value, _AbstractBaseExecutor)
        }
        shared_data = [executor.to_dict() for executor in shared.values()]
        workflows = {}
        for backend in backends:
            module = importlib.import_module(f"{package}.workflows.{backend}")
            lattice = copy.deepcopy(module.workflow)
            lattice.build_graph(points=2)
            graph = lattice.transport_graph
            data = [
                graph.get_node_value(node, "metadata")["executor_data"]
                for node in graph._graph.nodes
                if not graph.get_node_value(node, "name").startswith(":parameter:")
            ]
            workflows[backend] = {
                "tasks": len(data),
                "on_shared_executors": sum(item in shared_data for item in data),
                "on": sorted(
                    name for name, item in zip(shared, shared_data, strict=True) if item in data
                ),
            }
        return {
            "ok": True,
            "executors": {
                name: {
                    "class": type(value).__name__,
                    "attributes": {key: plain(item) for key, item in vars(value).items()},
                }
                for name, value in shared.items()
            },
            "workflows": workflows,
        }
    finally:
        sys.path.remove(src)
        for name in [m for m in sys.modules if m == package or m.startswith(f"{package}.")]:
            del sys.modules[name]


def main() -> None:
    replies, sys.stdout = sys.stdout, sys.stderr  # whatever the projects print stays apart
    for line in sys.stdin:
        request = json.loads(line)
        try:
            reply = probe(**request)
        except Exception:  # noqa: BLE001  (any failure is the answer, not a crash)
            reply = {"ok": False, "error": traceback.format_exc()}
        print(json.dumps(reply, default=repr), file=replies, flush=True)


if __name__ == "__main__":
    main()
