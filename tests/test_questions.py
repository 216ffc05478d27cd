"""copier.yml: choices, registry and snippets agree; bad answers are refused clearly."""

from __future__ import annotations

import ast
import functools
import keyword
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from bad_answers import AT_A_PROMPT, BAD_ANSWERS
from packaging.specifiers import SpecifierSet
from questionnaire import (
    CONFIG,
    QUESTIONS,
    REPO,
    RULES,
    TOOLBAR,
    answers_for,
    backend_of,
    rule_of,
    unreadable,
)

TEMPLATE = REPO / "template"


def test_no_question_asks_for_a_credential() -> None:
    words = ("secret", "password", "token", "credential", "access_key")
    assert not [name for name in CONFIG if any(word in name for word in words)]


def test_reserved_names_cover_keywords_and_this_pythons_standard_library() -> None:
    stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    assert stdlib <= set(CONFIG["stdlib_modules"]["default"])
    assert {w for w in keyword.kwlist if w.islower()} == set(CONFIG["python_keywords"]["default"])
    assert "covalent" in CONFIG["shadowed_modules"]["default"]


def copy_with(template_files: Path, tmp_path: Path, **answers: object) -> Path:
    destination = tmp_path / "project"
    copier.run_copy(
        str(template_files),
        destination,
        data=answers_for(answers.pop("backends", ["local"]), **answers),  # type: ignore[arg-type]
        defaults=True,
        quiet=True,
        skip_tasks=True,  # the answers are what is under test, not the hooks
    )
    return destination


# Each message starts by saying what to do.
FIRST_WORDS = ("Type", "Use", "Choose", "Keep", "Give", "Write", "Pass", "Tick", "Clear")


def fits_the_toolbar(question: str, message: str) -> bool:
    """Whether what to type (the message up to its first "; ") shows whole at a prompt.

    Copier shows "Validation error for question 'NAME': " and the message on one toolbar
    line that an 80-column terminal cuts; the details after "; " may be cut there.
    """
    shown = f"Validation error for question '{question}': {message}"[:80]
    return shown.startswith(f"Validation error for question '{question}': ") and (
        message.split("; ")[0] in shown
    )


@pytest.fixture(scope="module")
def prompt_answers(template_files: Path, tmp_path_factory: pytest.TempPathFactory):
    """`prompt_answers(backend)`: every answer a person gives for a project with that
    back end (the defaults taken), read from a project made once per back end. Passed
    as data without --defaults, they leave Copier nothing to ask: a bad one among them
    gets the message a prompt's toolbar shows."""

    @functools.cache
    def answers(backend: str) -> dict[str, Any]:
        project = copy_with(template_files, tmp_path_factory.mktemp(backend), backends=[backend])
        stored = yaml.safe_load((project / ".copier-answers.yml").read_text())
        return {name: value for name, value in stored.items() if not name.startswith("_")}

    return answers


def refusal(template_files: Path, destination: Path, question: str, **options: Any) -> str:
    """The message Copier gives when `question` is refused, after its prefix."""
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copier.run_copy(
            str(template_files), destination, unsafe=True, quiet=True, skip_tasks=True, **options
        )
    assert not destination.exists(), "a refused answer must leave nothing behind"
    return str(error.value).split(TOOLBAR.format(question), 1)[1]


@pytest.mark.parametrize(("question", "value", "expected"), BAD_ANSWERS)
def test_bad_answer_is_refused_with_what_to_type_first_and_reads_to_a_word_at_a_prompt(
    template_files: Path,
    tmp_path: Path,
    prompt_answers: Callable[[str], dict[str, Any]],
    question: str,
    value: object,
    expected: str,
) -> None:
    """Under --defaults the message is whole (on its own line, at most 80 columns); at a
    prompt, after Copier's prefix in an 80-column toolbar, it ends at a whole word."""
    backend = backend_of(question) or "local"
    answers = {**answers_for([backend]), question: value}
    message = refusal(template_files, tmp_path / "project", question, data=answers, defaults=True)
    assert message.startswith(expected)
    assert message.split()[0] in FIRST_WORDS
    assert len(message) <= 80, f"{len(message)} columns: {message}"
    if message.startswith("Pass --data"):  # that one only ever shows without a prompt
        return
    assert fits_the_toolbar(question, message), message
    typed = {**prompt_answers(backend), question: value}
    shown = TOOLBAR.format(question) + refusal(template_files, tmp_path / "p", question, data=typed)
    at_a_prompt = next((m for row, m in AT_A_PROMPT.items() if row == (question, value)), message)
    assert unreadable(shown, question, at_a_prompt) == "", shown


def test_every_rule_says_what_to_type_in_80_columns_and_its_example_passes() -> None:
    for name, rule in RULES.items():
        assert rule["expect"].split()[0] in FIRST_WORDS, name
        assert len(rule["expect"]) <= 80, name
        assert re.fullmatch(rule["pattern"], rule["example"]), name


def test_task_image_pythons_are_the_pythons_the_stack_supports() -> None:
    """A task image (python_minor answers) runs a Python covalent supports, and each one."""
    supported = SpecifierSet(CONFIG["requires_python"]["default"])
    minors = [f"3.{minor}" for minor in range(6, 20)]
    accepted = [v for v in minors if re.fullmatch(RULES["python_minor"]["pattern"], v)]
    assert accepted == [v for v in minors if f"{v}.0" in supported]


def test_what_to_type_shows_whole_at_the_prompt_of_every_question_with_a_rule() -> None:
    cut = [
        f"{question}: {RULES[rule]['expect']}"
        for question in QUESTIONS
        if (rule := rule_of(question)) and not fits_the_toolbar(question, RULES[rule]["expect"])
    ]
    assert cut == []


def test_every_help_fits_one_80_column_line_after_copiers_microphone() -> None:
    # Copier prints "🎤 " (three columns) before the help, and cuts the line at 80.
    too_long = {
        name: len(question["help"])
        for name, question in QUESTIONS.items()
        if len(question["help"]) > 77
    }
    assert too_long == {}


def test_refused_answer_leaves_an_existing_folder_as_it_was(
    template_files: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")

    with pytest.raises(ValueError, match="question 'package_name'"):
        copy_with(template_files, tmp_path, package_name="class")

    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine\n"


FREE_TEXT = [
    name
    for name, question in CONFIG.items()
    if isinstance(question, dict)
    and question.get("type") == "str"
    and "choices" not in question
    and question.get("when") is not False
]
INJECTIONS = [
    'x"; import os; os.system("rm -rf ~")  #',
    "x\nimport os",
    "x'; rm -rf ~; echo '",
    "x$(rm -rf ~)",
    "x`id`",
    "x\\",
]


def code_shape(project: Path) -> dict[str, str]:
    """Every Python file's syntax tree with its strings blanked, and the TOML's keys.

    An answer that is only ever data changes strings, never this shape.
    """
    shape = {}
    for path in sorted(project.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = ""
        shape[str(path.relative_to(project))] = ast.dump(tree)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    shape["pyproject.toml"] = str(sorted(pyproject["project"]))
    return shape


@pytest.fixture(scope="module")
def baseline_shapes(template_files: Path, tmp_path_factory: pytest.TempPathFactory):
    """The code shape of a plain project per back end, rendered once each."""
    shapes: dict[str, dict[str, str]] = {}

    def shape_for(backend: str) -> dict[str, str]:
        if backend not in shapes:
            path = tmp_path_factory.mktemp(f"baseline-{backend}")
            shapes[backend] = code_shape(
                copy_with(template_files, path, backends=[backend], **FIXED)
            )
        return shapes[backend]

    return shape_for


FIXED = {"package_name": "pkg"}  # else project_name would rename the package


@pytest.mark.parametrize("question", FREE_TEXT)
def test_free_text_answer_is_refused_or_inert(
    template_files: Path, tmp_path: Path, baseline_shapes, question: str
) -> None:
    backend = backend_of(question) or "local"
    expected = baseline_shapes(backend)
    for number, payload in enumerate(INJECTIONS):
        try:
            project = copy_with(
                template_files,
                tmp_path / str(number),
                backends=[backend],
                **(FIXED | {question: payload}),
            )
        except ValueError:
            continue  # refused at the question: fine
        assert code_shape(project) == expected, f"{question}={payload!r} changed the code"
        for script in project.rglob("*.sh"):
            assert payload not in script.read_text(), f"{question}={payload!r} in {script}"
