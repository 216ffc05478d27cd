"""Keep the tested stack fresh: re-lock to the newest versions the pins allow, run the
whole suite against them, and say what changed and whether it broke.

    python3 dev.py refresh [--report FILE] [PYTEST ARGS]

The new includes/stack/ stays in the working tree either way, to commit when the suite
passed, or to read when it did not (`git checkout includes/stack` puts the old one back).
Exit status: 0 when nothing changed or the suite passed with the changes, else 1.
The scheduled workflow .github/workflows/refresh-stack.yml runs it every week.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from releases import pins
from stack_lock import STACK_DIR
from stack_lock import main as lock

REPO = Path(__file__).resolve().parents[1]


def versions(constraints: str) -> dict[str, set[str]]:
    """Package -> its locked versions (two where the lock forks by Python version)."""
    found: dict[str, set[str]] = {}
    for pin in pins(constraints):
        name, version = pin.split("==")
        found.setdefault(name, set()).add(version)
    return found


def changes(before: str, after: str) -> list[str]:
    """One line per package whose locked versions changed, added or went."""
    old, new = versions(before), versions(after)
    lines = []
    for name in sorted(old.keys() | new.keys()):
        was, now = ", ".join(sorted(old.get(name, ()))), ", ".join(sorted(new.get(name, ())))
        if was != now:
            lines.append(f"- {name}: {was or '(new)'} -> {now or '(gone)'}")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report", type=Path, help="also write the report (Markdown) here")
    args, pytest_args = parser.parse_known_args(argv)
    before = (STACK_DIR / "constraints.txt").read_text()
    lock(["--upgrade"])
    changed = changes(before, (STACK_DIR / "constraints.txt").read_text())
    if not changed:
        report, status = "The stack is up to date: no newer release the pins allow.", 0
    else:
        suite = subprocess.run([sys.executable, "-m", "pytest", *pytest_args], cwd=REPO)
        verdict = (
            "The suite passed: commit includes/stack/."
            if suite.returncode == 0
            else f"The suite FAILED (exit {suite.returncode}) on these versions: find the "
            "release that broke it, pin it in includes/backends.yml with its reason, and "
            "run python3 dev.py lock."
        )
        report = f"{len(changed)} packages changed:\n\n" + "\n".join(changed) + f"\n\n{verdict}"
        status = 0 if suite.returncode == 0 else 1
    print(f"\n{report}")
    if args.report:
        args.report.write_text(f"# Refresh of the tested stack\n\n{report}\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
