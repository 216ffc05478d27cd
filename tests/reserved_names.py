"""Names a generated package must not take, computed from what is really installed.

copier.yml refuses a `package_name` listed in includes/reserved-names.yml. A hand-written
list forgets names: a project called `pydantic` builds a distribution `pydantic` that
clashes with Covalent's own requirement, so pip refuses to install it, and one called
`test` shadows the standard library's test package. So the lists are generated from the
shared stack virtualenv (build/stack: the pinned Covalent packages, every executor plugin
the template offers, the dev tools) and from the standard library of its Python:

    build/stack/bin/python tests/reserved_names.py           # what the file misses; exit 1
    build/stack/bin/python tests/reserved_names.py --write   # rewrite the two lists
    build/stack/bin/python tests/reserved_names.py --json    # the computed names

Run with another Python it re-runs itself with build/stack/bin/python, because only that
environment holds the stack. Standard library only: the stack has no PyYAML guarantee
and the file's comments must survive, so the YAML flow sets (`!!set {...}`) are edited
as text.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import sys
import sysconfig
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESERVED_FILE = REPO / "includes" / "reserved-names.yml"
STACK = REPO / "build" / "stack"
COMMAND = "build/stack/bin/python tests/reserved_names.py --write"
WIDTH = 88  # the YAML file's column limit

# What copier.yml's package_name validator accepts; any other name can never be chosen.
CHOOSABLE = re.compile(r"[a-z][a-z0-9_]*\Z")
# Entries of a RECORD that are not importable top-level names.
NOT_IMPORTABLE = {"..", "__pycache__", "bin"}
# Plain words YAML 1.1 (PyYAML, which Copier uses) reads as booleans or null.
YAML_SPECIAL = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}


def distribution_name(name: str) -> str:
    """The name as a package_name would spell it: PEP 503 normalized, `-` as `_`.

    A generated project's distribution is `package_name.replace("_", "-")`, and pip
    compares normalized names, so `pydantic_core` clashes with `pydantic-core`.
    """
    return re.sub(r"[-_.]+", "_", name).lower()


def module_name(entry: str) -> str | None:
    """The import name a top-level RECORD entry provides, or None when it provides none.

    `name/` (a package, or a namespace folder such as `google`), `name.py` and extension
    modules (`name.cpython-311-x86_64-linux-gnu.so`, `name.abi3.so`, `name.pyd`) count;
    metadata folders, `.pth` files, scripts and `..` paths do not.
    """
    head, folder, _ = entry.partition("/")
    if folder:
        return head if head.isidentifier() and head not in NOT_IMPORTABLE else None
    stem, dot, suffix = head.partition(".")
    if not dot or not stem.isidentifier():
        return None
    if suffix == "py" or suffix.endswith((".so", ".pyd")) or suffix in ("so", "pyd"):
        return stem
    return None


def is_local_install(dist: importlib.metadata.Distribution) -> bool:
    """True for a project installed from a local path, not from the package index.

    The tests install generated projects into the shared stack for a while (see
    `install_project` in conftest.py); their names belong to no one and must not be
    reserved. Everything the stack really holds comes from the index.
    """
    direct_url = dist.read_text("direct_url.json")
    if not direct_url:
        return False
    try:
        return str(json.loads(direct_url).get("url", "")).startswith("file:")
    except ValueError:
        return False


def top_level_names(dist: importlib.metadata.Distribution) -> set[str]:
    """Every top-level import name a distribution installs.

    top_level.txt and the RECORD are both read: wheels built without setuptools have no
    top_level.txt, and a RECORD entry is a folder or module that really is on disk.
    """
    names: set[str] = set()
    for line in (dist.read_text("top_level.txt") or "").splitlines():
        head = line.strip().replace("\\", "/").split("/")[0].split(".")[0]
        if head.isidentifier():
            names.add(head)
    for path in dist.files or []:
        name = module_name(path.as_posix())
        if name is not None:
            names.add(name)
    return names


def stack_names() -> set[str]:
    """Distribution and import names of everything installed in this environment.

    Only this environment's site-packages is searched, not sys.path, so the current
    directory or the script's folder adds nothing.
    """
    paths = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    names: set[str] = set()
    for dist in importlib.metadata.distributions(path=paths):
        name = dist.metadata["Name"]
        if not name or is_local_install(dist):  # None: being uninstalled right now
            continue
        names.add(distribution_name(name))
        names.update(top_level_names(dist))
    return names


def stdlib_names() -> set[str]:
    """The standard library of this Python: what it declares and what is on disk.

    sys.stdlib_module_names leaves out packages that are not meant to be imported but
    are there all the same (`test`, `idlelib`, `lib2to3`, `ensurepip`, `pydoc_data`...),
    so the stdlib folder and its lib-dynload folder are listed too.
    """
    names = set(sys.stdlib_module_names) | set(sys.builtin_module_names)
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for folder in (stdlib, stdlib / "lib-dynload"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            name = module_name(f"{entry.name}/" if entry.is_dir() else entry.name)
            if name is not None and name not in ("site_packages", "dist_packages"):
                names.add(name)
    return names


def choosable(names: Iterable[str]) -> set[str]:
    """Lowercased names that could pass the package_name rule; the others need no entry."""
    return {name.lower() for name in names if CHOOSABLE.match(name.lower())}


def compute() -> dict[str, list[str]]:
    """The reserved names this interpreter's environment calls for, by list."""
    return {
        "stack": sorted(choosable(stack_names())),
        "stdlib": sorted(choosable(stdlib_names())),
    }


def _flow_list_span(text: str, key: str) -> tuple[int, int]:
    """Start and end offsets of the `{...}` flow set under a top-level key."""
    block = re.search(rf"^{re.escape(key)}:\n(?:(?:[ \t].*)?\n)*", text, flags=re.MULTILINE)
    if block is None:
        raise ValueError(f"{RESERVED_FILE.name} has no top-level key {key!r}")
    default = text.find("default:", block.start(), block.end())
    opening = re.compile(r"^[ \t]*(\{)", flags=re.MULTILINE).search(text, default, block.end())
    end = text.find("}", opening.end() if opening else 0, block.end())
    if default < 0 or opening is None or end < 0:
        raise ValueError(f"{key!r} in {RESERVED_FILE.name} has no !!set {{...}} default")
    return opening.start(1), end + 1


def read_lists(text: str) -> dict[str, list[str]]:
    """The three lists of reserved-names.yml, read without a YAML library."""
    lists = {}
    for key in ("python_keywords", "stdlib_modules", "shadowed_modules"):
        start, end = _flow_list_span(text, key)
        items = (item.strip().strip("'\"") for item in text[start + 1 : end - 1].split(","))
        lists[key] = [item for item in items if item]
    return lists


def format_flow_list(names: Iterable[str], indent: int = 4) -> str:
    """A YAML flow set's `{...}` wrapped at WIDTH columns, in the file's style.

    The text starts at the `{` (the caller keeps the indentation before it); following
    lines are indented one column past the `{`.
    """
    items = [f'"{name}"' if name.lower() in YAML_SPECIAL else name for name in names]
    lines, line = [], " " * indent + "{"
    for number, item in enumerate(items):
        piece = item + ("}" if number == len(items) - 1 else ",")
        if line.strip("{ ") and len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = " " * (indent + 1) + piece
        else:
            line += ("" if line.endswith("{") else " ") + piece
    lines.append(line if items else line + "}")
    return "\n".join(lines)[indent:]


def rewrite(text: str, computed: dict[str, list[str]]) -> str:
    """The file's text with both generated lists replaced and everything else kept.

    stdlib_modules keeps every name it has: it is the union over Python 3.10 to 3.12
    and this machine has one of them. shadowed_modules becomes exactly the stack, minus
    names another list already refuses with a better message.
    """
    current = read_lists(text)
    stdlib = sorted(set(current["stdlib_modules"]) | set(computed["stdlib"]))
    taken = set(stdlib) | set(current["python_keywords"])
    shadowed = sorted(set(computed["stack"]) - taken)
    for key, names in (("stdlib_modules", stdlib), ("shadowed_modules", shadowed)):
        start, end = _flow_list_span(text, key)
        indent = start - (text.rfind("\n", 0, start) + 1)
        text = text[:start] + format_flow_list(names, indent) + text[end:]
    return text


def missing(text: str, computed: dict[str, list[str]]) -> dict[str, list[str]]:
    """Computed names that no list of the file refuses, by where they come from."""
    refused = {name for names in read_lists(text).values() for name in names}
    return {kind: [n for n in names if n not in refused] for kind, names in computed.items()}


def _in_stack() -> bool:
    return Path(sys.prefix).resolve() == STACK.resolve()


def main(argv: list[str] | None = None) -> int:
    """Check (exit 1 on missing names) or, with --write, rewrite reserved-names.yml."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help="rewrite the generated lists")
    action.add_argument("--json", action="store_true", help="print the computed names")
    args = parser.parse_args(argv)

    if not _in_stack():
        python = STACK / "bin" / "python"
        if not python.exists():
            print(f"{python} does not exist; `python3 dev.py test` builds it", file=sys.stderr)
            return 2
        os.execv(python, [str(python), __file__, *(sys.argv[1:] if argv is None else argv)])

    computed = compute()
    if args.json:
        print(json.dumps(computed, indent=1))
        return 0
    text = RESERVED_FILE.read_text()
    if args.write:
        new = rewrite(text, computed)
        RESERVED_FILE.write_text(new)
        lists = read_lists(new)
        print(", ".join(f"{key}: {len(names)}" for key, names in lists.items()))
        return 0
    gaps = missing(text, computed)
    for kind, names in gaps.items():
        if names:
            print(f"missing from {RESERVED_FILE.relative_to(REPO)} ({kind}): {', '.join(names)}")
    if any(gaps.values()):
        print(f"regenerate with: {COMMAND}")
        return 1
    print(f"{RESERVED_FILE.relative_to(REPO)} refuses every name the stack and stdlib call for")
    return 0


if __name__ == "__main__":
    sys.exit(main())
