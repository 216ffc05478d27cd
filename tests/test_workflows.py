"""GitHub workflows that keep running: the template's own and every generated one use
the releases of includes/backends.yml's one list (github_actions), each on node24, and
actionlint finds nothing in them; Dependabot's file follows GitHub's schema.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from projects import generate, update
from questionnaire import BACKENDS, CONFIG, REPO

ACTIONS: dict[str, dict[str, str]] = CONFIG["github_actions"]["default"]
TOOLS = Path(sys.executable).parent  # actionlint and check-jsonschema, from requirements-dev
OWN = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def uses(workflow: Path) -> list[str]:
    """Every action a workflow file uses (owner/name@version)."""
    return re.findall(r"^\s*(?:- )?uses: (\S+)", workflow.read_text(), flags=re.MULTILINE)


def rendered_workflows(rendered: Callable[..., Path], update_pull_requests: bool) -> list[Path]:
    project = rendered(BACKENDS, update_pull_requests=update_pull_requests)
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def test_every_action_of_the_list_runs_on_node24() -> None:
    assert {name: entry["runtime"] for name, entry in ACTIONS.items()} == dict.fromkeys(
        ACTIONS, "node24"
    )
    pinned = [entry["uses"] for entry in ACTIONS.values()]
    assert [u for u in pinned if not re.fullmatch(r"[\w-]+/[\w-]+@v\d+\.\d+\.\d+", u)] == []


def test_every_workflow_uses_exactly_the_listed_releases(rendered: Callable[..., Path]) -> None:
    """Dependabot's pull requests for the template's own workflows fail here until the
    list takes the new release too, so the generated projects get it as well."""
    listed = {entry["uses"] for entry in ACTIONS.values()}
    workflows = [*OWN, *rendered_workflows(rendered, True), *rendered_workflows(rendered, False)]
    used = {(workflow.name, action) for workflow in workflows for action in uses(workflow)}
    assert sorted((name, a) for name, a in used if a not in listed) == []
    assert listed - {action for _, action in used} == set(), "listed but used nowhere"


def test_the_update_workflow_comes_only_with_its_answer(rendered: Callable[..., Path]) -> None:
    assert [w.name for w in rendered_workflows(rendered, True)] == ["ci.yml", "template-update.yml"]
    assert [w.name for w in rendered_workflows(rendered, False)] == ["ci.yml"]


@pytest.mark.parametrize("update_pull_requests", [True, False], ids=["with-updates", "without"])
def test_actionlint_finds_nothing_in_the_templates_or_the_generated_workflows(
    rendered: Callable[..., Path], update_pull_requests: bool
) -> None:
    workflows = [*OWN, *rendered_workflows(rendered, update_pull_requests)]
    lint = subprocess.run(
        [str(TOOLS / "actionlint"), "-no-color", *map(str, workflows)],
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout == ""


def test_actionlint_would_see_a_retired_runtime(tmp_path: Path) -> None:
    """The lint above can fail: actionlint knows checkout@v4's node20 is gone."""
    old = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    retired = tmp_path / ".github" / "workflows" / "ci.yml"
    retired.parent.mkdir(parents=True)
    retired.write_text(re.sub(r"actions/checkout@\S+", "actions/checkout@v4", old))
    lint = subprocess.run(
        [str(TOOLS / "actionlint"), "-no-color", str(retired)], capture_output=True, text=True
    )
    assert lint.returncode == 1 and "node20" in lint.stdout, lint.stdout


def test_dependabot_keeps_the_templates_own_actions_current() -> None:
    dependabot = REPO / ".github" / "dependabot.yml"
    check = subprocess.run(
        [str(TOOLS / "check-jsonschema"), "--builtin-schema", "vendor.dependabot", str(dependabot)],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    text = dependabot.read_text()
    assert "package-ecosystem: github-actions" in text
    assert "package-ecosystem: pip" not in text  # the stack's lock is refresh-stack's job


def test_an_update_keeps_the_answer_that_opts_out_of_update_pull_requests(
    template_clone: Path, tmp_path: Path
) -> None:
    project = generate(template_clone, tmp_path / "p", ["local"], update_pull_requests=False)

    update(project, ["local", "dask"])

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["update_pull_requests"] is False
    assert not (project / ".github" / "workflows" / "template-update.yml").exists()
    assert (project / ".github" / "template_update.py").is_file()  # for a person to run
