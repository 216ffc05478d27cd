"""Before `copier update`: bring answers saved by older template versions to today's form.

Copier runs this inside the project before it renders the new version, and then reads
the answers file again. Without it, an answer in an old form fails today's validator,
and Copier silently drops it and takes the default: a Slurm project would lose its
sbatch options. It changes only answers in an old form, so running it again is harmless.

Usage: migrate_answers.py ANSWERS_FILE
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml  # Copier itself depends on PyYAML, so its Python always has it


def sbatch_options(mapping: dict[str, Any]) -> tuple[str, list[str]]:
    """The old `slurm_options` mapping as sbatch long options, and what to check.

    The old template wrote each value as Python's str() of what YAML 1.1 had read, so
    the options keep that text, exactly what the project's jobs got until now. Where
    YAML changed what was typed (1:30:00 read as 5400, on as True), say so; an empty
    value, which the old template wrote as "None", was meant as a flag.
    """
    options, notes = [], []
    for name, value in mapping.items():
        if value is None or value == "":
            options.append(f"--{name}")
            if value is None:
                notes.append(f"--{name} had no value; it is now a flag (was --{name}=None)")
        else:
            options.append(f"--{name}={value}")
            if not isinstance(value, str):
                notes.append(
                    f"check --{name}={value}: YAML may have changed what was typed"
                    " (1:30:00 became 5400, on became True)"
                )
    return " ".join(options), notes


def main(answers_file: str) -> int:
    path = Path(answers_file)
    text = path.read_text()
    answers = yaml.safe_load(text) or {}
    if not isinstance(answers.get("slurm_options"), dict):
        return 0
    answers["slurm_options"], notes = sbatch_options(answers["slurm_options"])
    header = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    path.write_text(header + yaml.safe_dump(answers, sort_keys=False, allow_unicode=True))
    print(f"slurm_options are now sbatch options: {answers['slurm_options']}")
    for note in notes:
        print(f"  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
