"""copier.yml as the tests read it: the questions, their rules, and what a person answers.

The tests never keep their own copy of the questionnaire: choices, the order of the
questions, which ones need an answer and what a valid answer looks like all come from
copier.yml and its includes, so a new question or back end is tested without edits here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import yaml

REPO = Path(__file__).resolve().parents[1]


class _CopierLoader(yaml.SafeLoader):
    """Reads copier.yml as Copier does, following its `!include` documents."""


def _include(loader: _CopierLoader, node: yaml.Node) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path in sorted(REPO.glob(loader.construct_scalar(node))):  # type: ignore[arg-type]
        merged.update(yaml.load(path.read_text(), _CopierLoader))
    return merged


_CopierLoader.add_constructor("!include", _include)


def load_copier_config() -> dict[str, Any]:
    """copier.yml with its includes merged, in Copier's order."""
    merged: dict[str, Any] = {}
    for document in yaml.load_all((REPO / "copier.yml").read_text(), _CopierLoader):
        merged.update(document or {})
    return merged


CONFIG = load_copier_config()
BACKENDS: list[str] = list(CONFIG["backends"]["choices"].values())
DEFAULT_BACKENDS: list[str] = CONFIG["backends"]["default"]
RULES: dict[str, dict[str, str]] = CONFIG["answer_rules"]["default"]
REGISTRY: dict[str, dict[str, str]] = CONFIG["backend_registry"]["default"]
# Every question a person can be asked, in the order Copier asks them.
QUESTIONS: dict[str, dict[str, Any]] = {
    name: question
    for name, question in CONFIG.items()
    if isinstance(question, dict) and "type" in question and question.get("when") is not False
}
_RULE_CALL = re.compile(r"a\.rule\(\w+, '\w+', '(\w+)'")


def backend_of(question: str) -> str | None:
    """The back end a setting belongs to (settings are named <backend>_<parameter>)."""
    return next((b for b in BACKENDS if question.startswith(f"{b}_")), None)


def rule_of(question: str) -> str | None:
    """The answer_rules entry a question's validator checks against, if it uses one."""
    match = _RULE_CALL.search(QUESTIONS[question].get("validator", ""))
    return match.group(1) if match else None


def is_optional(question: str) -> bool:
    """True for a setting where an empty answer means something (e.g. "use a venv")."""
    return "optional=true" in QUESTIONS[question].get("validator", "")


def is_required(question: str) -> bool:
    """True for a setting with no default at a terminal: the person must type it."""
    return "UNSET" in str(QUESTIONS[question].get("default", ""))


def example(question: str) -> str:
    """A valid answer to a question, from its rule."""
    rule = rule_of(question)
    assert rule, f"{question} has no rule, so no example answer"
    return RULES[rule]["example"]


def required_answers(backend: str) -> dict[str, str]:
    """What a person must type for a back end: an example for each setting without default."""
    return {
        name: example(name)
        for name in QUESTIONS
        if backend_of(name) == backend and is_required(name)
    }


def is_asked(question: str, answers: dict[str, Any]) -> bool:
    """Whether Copier asks this question, given the answers so far (its `when`)."""
    when = QUESTIONS[question].get("when", True)
    if not isinstance(when, str):
        return bool(when)
    rendered = jinja2.Environment().from_string(when).render(**answers).strip()
    return rendered.lower() not in ("false", "", "0", "none")


def answers_for(backends: list[str], **extra: Any) -> dict[str, Any]:
    """Answers that generate a project with these back ends and defaults elsewhere."""
    answers: dict[str, Any] = {"backends": backends}
    for backend in backends:
        answers.update(required_answers(backend))
    answers.update(extra)
    unknown = set(answers) - set(CONFIG)
    assert not unknown, f"not questions in copier.yml: {unknown}"  # copie ignores them
    return answers
