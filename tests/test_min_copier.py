"""The oldest Copier that copier.yml declares (`_min_copier_version`) renders the template.

Copier refuses a template whose minimum is newer than itself, and trusts the declared
one: a minimum that cannot load the includes (9.8 and 9.9 stop with a YAML traceback
on their `---` documents) sends people a traceback instead of "upgrade Copier". So the
declared release renders a project with every back end, and its tree must be the pinned
release's (requirements-dev.txt), file for file.
"""

from __future__ import annotations

import filecmp
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from questionnaire import BACKENDS, CONFIG, answers_for

from support import BUILD, bin_dir, copy_working_tree, uv

MINIMUM = str(CONFIG["_min_copier_version"])
PINNED = str(Path(sys.executable).parent / "copier")


@pytest.fixture(scope="module")
def oldest_copier() -> Path:
    """The declared minimum Copier, in its own virtualenv under build/ (kept between runs)."""
    venv = BUILD / f"copier-{MINIMUM}"
    script = bin_dir(venv) / "copier"
    if not script.exists():
        subprocess.run([uv(), "venv", "--quiet", "--python", sys.executable, venv], check=True)
        install = [uv(), "pip", "install", "--quiet", "--python", bin_dir(venv) / "python"]
        subprocess.run([*install, f"copier=={MINIMUM}"], check=True)
    return script


def differences(left: Path, right: Path, where: Path = Path()) -> list[str]:
    """Files (relative paths) that differ, or are on one side only, between two trees."""
    compared = filecmp.dircmp(left, right, ignore=[])
    found = [str(where / name) for name in compared.left_only + compared.right_only]
    found += [str(where / name) for name in compared.diff_files + compared.funny_files]
    for name in compared.common_dirs:
        found += differences(left / name, right / name, where / name)
    return found


def test_declared_minimum_copier_renders_what_the_pinned_one_does(
    oldest_copier: Path, tmp_path: Path
) -> None:
    template = copy_working_tree(tmp_path / "template")
    data = tmp_path / "answers.yml"
    data.write_text(yaml.safe_dump(answers_for(BACKENDS, package_name="oldest")))
    trees = {}
    for label, copier in (
        (f"{MINIMUM} (the declared minimum)", str(oldest_copier)),
        ("pinned", PINNED),
    ):
        trees[label] = tmp_path / label
        run = subprocess.run(
            [copier, "copy", "--trust", "--defaults", "--skip-tasks", "--quiet"]
            + ["--data-file", str(data), str(template), str(trees[label])],
            capture_output=True,
            text=True,
        )
        errors = re.findall(r"^[\w.]*(?:Error|Exception)\b.*", run.stderr, re.MULTILINE)
        last = (errors or run.stderr.strip().splitlines() or ["no output"])[-1]
        assert run.returncode == 0, f"copier {label} cannot copy the template: {last}"

    minimum, pinned = trees.values()
    changed = differences(minimum, pinned)
    assert changed == [], f"copier {MINIMUM} (the declared minimum) renders differently: {changed}"
