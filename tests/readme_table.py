"""The README's table of back ends, made from the registry and the questions.

    .venv/bin/python tests/readme_table.py --write   # rewrite the table in README.md

tests/test_backend_shape.py fails, showing the expected table, when README.md differs.
"""

from __future__ import annotations

import argparse
import re
import sys

from questionnaire import QUESTIONS, REGISTRY, REPO, backend_of, is_required

README = REPO / "README.md"
BEGIN = "<!-- back ends: generated from includes/backends.yml by tests/readme_table.py -->"
END = "<!-- end of back ends -->"


def questions_cell(name: str) -> str:
    """The back end's questions; bold where a person must type an answer."""
    cells = [
        f"**`{question}`**" if is_required(question) else f"`{question}`"
        for question in QUESTIONS
        if backend_of(question) == name
    ]
    return ", ".join(cells) or "none"


def resources_cell(entry: dict) -> str:
    """What a named resource (`<name>_resources`) may set: sbatch options, or keywords."""
    settings = entry.get("resource_settings")
    if settings is None:
        return "none"
    if settings == "sbatch":
        return "sbatch options"
    return ", ".join(f"`--{keyword}`" for keyword in settings)


def backend_table() -> str:
    rows = [
        "| choice | what it is | executor | plugin (pinned) | questions | named resources set |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, entry in REGISTRY.items():
        plugin = f"`{entry['requirement']}`" if entry.get("requirement") else "Covalent core"
        rows.append(
            f"| `{name}` | {entry['label']} | `{entry['executor_class']}` | {plugin} "
            f"| {questions_cell(name)} | {resources_cell(entry)} |"
        )
    return "\n".join(rows)


def section(text: str) -> str:
    """The generated part of the README, between its markers."""
    match = re.search(f"{re.escape(BEGIN)}\n(.*?)\n{re.escape(END)}", text, flags=re.DOTALL)
    assert match, f"README.md lacks the lines {BEGIN!r} and {END!r} around the table"
    return match.group(1)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite README.md's table")
    args = parser.parse_args(argv)
    if not args.write:
        print(backend_table())
        return 0
    text = README.read_text()
    README.write_text(text.replace(section(text), backend_table()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
