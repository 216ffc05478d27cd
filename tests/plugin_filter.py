"""The executor plugins of one generated project, in the tests' shared Covalent stack.

Copied into each worker's overlay of the stack (projects.overlay) and imported by every
Python started there (a .pth file). When COVTEST_EXECUTOR_PLUGINS names distributions
(InstalledProject sets the project's own name and its dependencies), Covalent's lookup
of installed executor plugins sees only theirs; unset, it sees all, as before.

The shared stack holds every back end's plugin, and `import covalent` imports each one
it finds: 2.6 CPU-seconds in every command of a generated project the tests run (OCI's
and Google's SDKs alone take 1.5), where the project's own virtualenv, as `uv sync`
makes it, has only its back ends' plugins. A project's code that reaches for a plugin
it does not install fails here as it would for its owner.
"""

import functools
import os
import re

GROUP = "covalent.executor.executor_plugins"
_allowed = os.environ.get("COVTEST_EXECUTOR_PLUGINS")


def normalized(name: str) -> str:
    """A distribution's name as packaging compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    """The distribution a requirement ("covalent-ssh-plugin==0.24; ...") names."""
    return normalized(re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group())


def installed_with(names: set[str]) -> set[str]:
    """These distributions and all they require, as installing them would bring (the EC2
    plugin needs the SSH plugin's, whose settings Covalent registers as it loads it)."""
    import importlib.metadata

    found, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if not re.search(r"\bextra\s*==", requirement):  # only with an extra asked for
                todo.append(requirement_name(requirement))
    return found


if _allowed is not None:
    import importlib.metadata as _metadata

    _all = _metadata.entry_points

    @functools.cache
    def _names() -> set[str]:  # looked up when Covalent first asks, once
        return installed_with({normalized(name) for name in _allowed.split(",")})

    def _entry_points(**params):  # noqa: ANN003, ANN202 (importlib.metadata's signature)
        found = _all(**params)
        if params.get("group") != GROUP:
            return found
        return _metadata.EntryPoints(
            entry for entry in found if entry.dist and normalized(entry.dist.name) in _names()
        )

    _metadata.entry_points = _entry_points
