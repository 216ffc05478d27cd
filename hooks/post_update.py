"""After `copier update`: fail loudly on conflicts, and say which back ends changed.

Copier exits 0 even when its merge leaves conflict markers or .rej files, so this
check turns them into a failed update that names the files. Copier runs it inside the
project after the merge (an unversioned migration, stage "after").

Usage: post_update.py ANSWERS_FILE
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml  # Copier itself depends on PyYAML, so its Python always has it

MARKERS = ("<<<<<<< ", ">>>>>>> ")


def git(*args: str) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False).stdout


def project_files() -> list[str]:
    """Tracked files and untracked ones git does not ignore."""
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [name for name in listing.split("\0") if name]


def conflicts() -> list[str]:
    """Files with conflict markers, unmerged files, and .rej files Copier left."""
    found = set(git("diff", "--name-only", "--diff-filter=U").split())
    for name in project_files():
        path = Path(name)
        if name.endswith(".rej"):
            found.add(name)
            continue
        try:
            lines = path.read_text(errors="replace").splitlines()
        except (OSError, IsADirectoryError):
            continue
        if all(any(line.startswith(marker) for line in lines) for marker in MARKERS):
            found.add(name)
    return sorted(found)


def backends(answers_text: str) -> list[str]:
    return list((yaml.safe_load(answers_text) or {}).get("backends", []))


def main(answers_file: str) -> int:
    before = backends(git("show", f"HEAD:{answers_file}"))
    after = backends(Path(answers_file).read_text())
    added = [b for b in after if b not in before]
    removed = [b for b in before if b not in after]
    changes = [
        f"{verb} {', '.join(names)}"
        for verb, names in (("added", added), ("removed", removed))
        if names
    ]
    if changes:
        print(f"Back ends {'; '.join(changes)}. Now: {', '.join(after)}.")
    else:
        print(f"Back ends unchanged: {', '.join(after)}.")

    left = conflicts()
    if left:
        print("copier update left conflicts in:", file=sys.stderr)
        for name in left:
            print(f"  {name}", file=sys.stderr)
        print(
            "Resolve each (look for <<<<<<< or read the .rej file), delete the .rej files,\n"
            "run the tests, then commit. `git diff` shows what the update changed.",
            file=sys.stderr,
        )
        return 1
    print("No conflicts. Review with `git diff`, run the tests, then commit.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
