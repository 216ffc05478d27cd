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


INCLUDES: list[str] = []  # every `!include` followed, in order (the tests check them)


def _include(loader: _CopierLoader, node: yaml.Node) -> list[Any]:
    pattern = loader.construct_scalar(node)
    INCLUDES.append(pattern)  # type: ignore[arg-type]
    # Copier does not sort a glob's matches; the template's includes never glob.
    paths = list(REPO.glob(pattern))  # type: ignore[arg-type]
    assert len(paths) == 1, f"!include {pattern} matches {len(paths)} files, not one"
    return [doc for doc in yaml.load_all(paths[0].read_text(), _CopierLoader) if doc]


_CopierLoader.add_constructor("!include", _include)


def _documents(items: list[Any]) -> list[dict[str, Any]]:
    """The mappings of copier.yml in order, with included documents in place."""
    return [
        doc
        for item in items
        for doc in (_documents(item) if isinstance(item, list) else [item])
        if doc
    ]


def load_copier_config() -> dict[str, Any]:
    """copier.yml with its includes merged as Copier merges them: a later document wins,
    and questions keep the order in which they first appear."""
    merged: dict[str, Any] = {}
    INCLUDES.clear()  # a second load lists them once, not twice
    documents = yaml.load_all((REPO / "copier.yml").read_text(), _CopierLoader)
    for document in _documents(list(documents)):
        merged.update(document)
    return merged


def render(text: str, **context: Any) -> str:
    """A Jinja expression of copier.yml rendered as Copier would, for its plain parts."""
    return jinja2.Environment().from_string(text).render(**context)


CONFIG = load_copier_config()
RULES: dict[str, dict[str, str]] = CONFIG["answer_rules"]["default"]
REGISTRY: dict[str, dict[str, Any]] = CONFIG["backend_registry"]["default"]
# The `backends` choices as Copier offers them ("name: label" -> name), from the registry.
CHOICES: dict[str, str] = yaml.safe_load(
    render(CONFIG["backends"]["choices"], backend_registry=REGISTRY)
)
BACKENDS: list[str] = list(CHOICES.values())
DEFAULT_BACKENDS: list[str] = CONFIG["backends"]["default"]
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


def shared_pieces(backend: str) -> set[tuple[str, ...]]:
    """What a back end switches on in files that others share: its registry flags
    (`setup: true`), each item of its registry lists (a workaround, a dependency
    override, a quieted warning), and being a default back end."""
    pieces = {("default",)} if backend in DEFAULT_BACKENDS else set()
    for key, value in REGISTRY[backend].items():
        if value is True:
            pieces.add((key,))
        elif isinstance(value, list):
            pieces.update((key, repr(item)) for item in value)
    return pieces


def backend_groups() -> list[list[str]]:
    """Every back end in a group (each in the first one, in copier.yml's order, where no
    member shares a piece with it), for tests that add or remove a whole group in one
    update: each piece comes or goes with one back end, as in an update of that back end
    alone, and one update is rendered where one per back end repeated the same work.
    Each back end alone is what test_terminal.py's copy tests make."""
    groups: list[list[str]] = []
    for backend in BACKENDS:
        mine = shared_pieces(backend)
        group = next((g for g in groups if not any(mine & shared_pieces(b) for b in g)), None)
        if group is None:
            groups.append(group := [])
        group.append(backend)
    return groups


def is_asked(question: str, answers: dict[str, Any]) -> bool:
    """Whether Copier asks this question, given the answers so far (its `when`)."""
    when = QUESTIONS[question].get("when", True)
    if not isinstance(when, str):
        return bool(when)
    rendered = render(when, **answers).strip()
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


# Copier's validation toolbar at a prompt: this, then the message, on one line.
TOOLBAR = "Validation error for question '{}': "
# Words a line cut short must not end on: the reader needs what came after them.
DANGLING = ("e.g.", "or", "and", "not", "no", "the", "a", "an", "of", "to", "in", "is", "with")


def unreadable(line: str, question: str, message: str, columns: int = 80) -> str:
    """Why a toolbar `line` for `question` does not read as `message` (or as a message
    that starts with it), or "" when it does: within `columns`, Copier's prefix, then the
    message up to a whole word that neither dangles nor cuts what to type (the message
    up to its first "; ").
    """
    prefix = TOOLBAR.format(question)
    shown = line.removeprefix(prefix)
    if len(line) > columns:
        return f"{len(line)} columns"
    if not line.startswith(prefix) or not shown:
        return "no message after the prefix"
    if not (message.startswith(shown) or shown.startswith(message)):
        return "not the message"
    after = message[len(shown) : len(shown) + 1] if message.startswith(shown) else ""
    if after not in ("", " ", ";", ",", ":"):
        return "ends inside a word"
    if shown.split()[-1] in DANGLING or shown[-1] in ";,:(":
        return f"ends on {shown.split()[-1]!r}"
    if len(shown) < len(message.split("; ")[0]):
        return "what to type is cut"
    return ""
