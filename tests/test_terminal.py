"""Copier's questionnaire as people answer it: the real `copier` CLI at an 80x40 terminal.

Most people run `copier copy --trust TEMPLATE my-project` and answer prompts; the other
tests pass answers with --data and never see a prompt, a help line or a validation
toolbar. These tests press keys in a pseudo-terminal and assert on the screen a person
would see (tests/terminal.py), walking copier.yml's questions in its own order.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from bad_answers import AT_A_PROMPT, BAD_ANSWERS
from projects import (
    COPIER,
    base_for,
    executor_instances,
    generate,
    git,
    ruff_problems,
    run_project_tests,
    update_edited_project,
    with_backends,
)
from questionnaire import (
    BACKENDS,
    CHOICES,
    DEFAULT_BACKENDS,
    QUESTIONS,
    REGISTRY,
    RULES,
    TOOLBAR,
    backend_groups,
    backend_of,
    is_asked,
    is_required,
    required_answers,
    rule_of,
    unreadable,
)
from terminal import BACKSPACE, CLEAR_LINE, COLUMNS, CTRL_C, DOWN, ENTER, SPACE, Terminal

MIC = "🎤 "  # Copier draws every question as this and its help, on one line
# The questions before the back ends', in copier.yml's order.
GENERAL = list(QUESTIONS)[: list(QUESTIONS).index("backends")]
# The back ends' settings, in the order Copier asks them after the checkbox.
SETTINGS = [name for name in QUESTIONS if name not in [*GENERAL, "backends"]]
# Checkbox label of each back end, as Copier renders it from the registry.
LABELS = {value: label for label, value in CHOICES.items()}


class Person:
    """Someone answering Copier's questions at the terminal, one question at a time.

    Copier draws each question as "🎤 <help>" and keeps it on screen once answered, so
    the n-th such line of the session is the n-th question: a question asked out of
    copier.yml's order, or a help cut by the terminal, fails at that question.
    """

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.answered = 0

    def prompts(self) -> list[str]:
        """Every question drawn so far, as its "🎤 <help>" line."""
        return [line for line in self.terminal.transcript().splitlines() if line.startswith(MIC)]

    def reach(self, name: str) -> None:
        """Wait for question `name` to be asked; check its whole help is on one line."""
        self.terminal.wait_until(
            lambda: len(self.prompts()) > self.answered, f"question {name} (#{self.answered + 1})"
        )
        self.terminal.settle(quiet=0.15)  # drawn whole, and prompt_toolkit reads keys
        expected = MIC + QUESTIONS[name]["help"]
        line = self.prompts()[self.answered]
        assert line == expected, (
            f"question {name}: expected its help whole on one line\n"
            f"  want: {expected!r}\n  shown: {line!r}\nscreen:\n{self.terminal.text()}"
        )

    def answer(self, name: str, typed: str = "") -> None:
        """Type `typed` (nothing: keep the offered default) and press Enter."""
        self.reach(name)
        self.enter(typed)

    def enter(self, typed: str = "") -> None:
        """Finish the question waiting: type `typed`, press Enter."""
        self.terminal.send(typed + ENTER)
        self.answered += 1

    def refused(self, name: str, quiet: float = 0.15) -> str:
        """The toolbar line shown for a refused answer to `name`, once it shows, after
        checking that `name` is still the question waiting and nothing came after it.

        The toolbar shows while a bad answer is typed, before Enter: after an Enter,
        give Copier `quiet` seconds to draw a next question it should not ask.
        """
        self.terminal.wait_for(TOOLBAR.format(name), timeout=10)
        self.terminal.settle(quiet=quiet)
        prompts = self.prompts()
        assert len(prompts) == self.answered + 1, f"{name} not asked again:\n{self.terminal.text()}"
        assert prompts[-1] == MIC + QUESTIONS[name]["help"], self.terminal.text()
        return self.terminal.line_with(TOOLBAR.format(name))

    def choose_backends(self, wanted: list[str], ticked: list[str] = DEFAULT_BACKENDS) -> None:
        """Enter on the general questions (keeping what is offered), then, in the
        checkbox where `ticked` are ticked, tick exactly `wanted`."""
        for name in GENERAL:
            self.answer(name)
        self.tick(ticked, wanted)

    def tick(self, ticked: list[str], wanted: list[str]) -> None:
        """In the back-end checkbox (`ticked` ticked now), leave exactly `wanted` ticked.

        The keys come from the order of the choices in copier.yml: space where a tick
        must change, down arrow to the next choice.
        """
        self.reach("backends")
        keys = [SPACE if (b in ticked) != (b in wanted) else "" for b in BACKENDS]
        self.terminal.send(DOWN.join(keys))
        last = LABELS[BACKENDS[-1]]
        self.terminal.wait_until(lambda: "»" in self.terminal.line_with(last), "pointer at end")
        self.terminal.settle(quiet=0.15)
        # Each choice is drawn as " » ● label" (pointer, tick) or "   ○ label".
        marks = {b: self.terminal.line_with(LABELS[b]).split(LABELS[b])[0].split() for b in LABELS}
        assert [b for b in BACKENDS if marks[b][-1] == "●"] == wanted, self.terminal.text()
        self.enter()

    def settings(
        self,
        answers: dict[str, Any],
        new: list[str],
        answer: Callable[[str, str], None] | None = None,
    ) -> None:
        """Every setting not in `answers` that Copier asks for them, in copier.yml's
        order: the example typed for a required setting of a back end in `new`, Enter
        on the others. `answer(name, example or "")` replaces the plain answer."""
        for name in SETTINGS:
            if name in answers or not is_asked(name, answers):
                continue
            backend = backend_of(name) or ""
            typed = required_answers(backend).get(name, "") if backend in new else ""
            (answer or self.answer)(name, typed)
            answers[name] = typed or QUESTIONS[name].get("default", "")


def copy_at_terminal(template_clone: Path, project: Path) -> Terminal:
    return Terminal([COPIER, "copy", "--trust", str(template_clone), str(project)])


def update_at_terminal(project: Path) -> Terminal:
    return Terminal([COPIER, "update", "--trust", "--vcs-ref=:current:", str(project)], cwd=project)


def copy_with_defaults(
    template_clone: Path, project: Path, backends: list[str] = DEFAULT_BACKENDS
) -> Path:
    """A project with these back ends and defaults elsewhere, committed by the post-copy
    hook, as `copier update` needs (generated once per back-end list, then copied)."""
    return generate(template_clone, project, backends)


def copy_every_backend_at_terminal(
    template_clone: Path, project: Path, answer: Callable[[Person, str, str], None]
) -> None:
    """One copy session ticking every back end; `answer(person, name, example)` answers
    each setting, and the session must finish."""
    with copy_at_terminal(template_clone, project) as terminal:
        person = Person(terminal)
        person.choose_backends(BACKENDS)
        person.settings(
            {"backends": BACKENDS}, BACKENDS, answer=lambda name, typed: answer(person, name, typed)
        )
        finished(terminal)


def finished(terminal: Terminal) -> None:
    """The session ends with exit status 0 (else: everything it showed)."""
    status = terminal.wait_exit()
    assert status == 0, f"exit status {status}:\n{terminal.transcript()}"


def answers_file(project: Path) -> dict[str, Any]:
    return yaml.safe_load((project / ".copier-answers.yml").read_text())


def check_project(project: Path, backends: list[str], ruff: Path) -> None:
    """One executor per back end, in copier.yml's order, and code ruff finds clean."""
    package = answers_file(project)["package_name"]
    source = (project / "src" / package / "executors.py").read_text()
    generated = source.split("# --- Your own executors", 1)[0]
    assert executor_instances(generated) == [(b, REGISTRY[b]["executor_class"]) for b in backends]
    assert ruff_problems(ruff, project) == ""


# Every back end together: in the session of test_every_refused_setting_... below.
COMBINATIONS = [pytest.param([b], id=b) for b in BACKENDS]


@pytest.mark.parametrize("backends", COMBINATIONS)
def test_copy_at_a_terminal_finishes_for_each_backend_alone(
    template_clone: Path, tmp_path: Path, ruff: Path, backends: list[str]
) -> None:
    project = tmp_path / "project"
    with copy_at_terminal(template_clone, project) as terminal:
        person = Person(terminal)
        person.choose_backends(backends)
        person.settings({"backends": backends}, new=backends)
        finished(terminal)

    assert answers_file(project)["backends"] == backends
    check_project(project, backends, ruff)


# Groups of back ends, each added in one update (questionnaire.backend_groups says why).
GROUPS = [pytest.param(group, id="+".join(group)) for group in backend_groups()]


@pytest.mark.parametrize("added", GROUPS)
def test_update_at_a_terminal_adds_backends_and_keeps_the_owners_edits(
    template_clone: Path, tmp_path: Path, ruff: Path, install_project, added: list[str]
) -> None:
    """A default-answers project (of the default back ends not in `added`) that its
    owner edited and committed gets the back ends from the prompts: no conflict, every
    edit kept, the tree of a fresh copy with the same edits, and its own tests pass."""
    base = base_for(added)

    def at_terminal(project: Path, backends: list[str]) -> None:
        with update_at_terminal(project) as terminal:
            person = Person(terminal)
            person.choose_backends(backends, ticked=base)
            person.settings({"backends": backends}, new=added)
            finished(terminal)
            assert "No conflicts" in terminal.transcript()

    backends = with_backends(base, added)
    project = update_edited_project(template_clone, tmp_path, base, backends, base, at_terminal)

    assert answers_file(project)["backends"] == backends
    check_project(project, backends, ruff)
    run_project_tests(install_project, project)


# Rows of the bad-answer table typed at a prompt, each with the good answer typed after.
REFUSED_AT_A_PROMPT = [
    pytest.param("package_name", "json", "json_tools", id="reserved-package-name"),
    pytest.param("ssh_hostname", "alice@login", "login.example.org", id="host-with-user"),
    pytest.param(
        "slurm_resources",
        "gpu --partition=gpu",
        "gpu: --partition=gpu --gres=gpu:1; bigmem: --partition=bigmem --mem=500G",
        id="resource-without-colon",
    ),
    pytest.param("ssh_resources", "gpu2: --host=x", "gpu2: --hostname=gpu2", id="unknown-keyword"),
    # Typed at the end of the offered default, not cleared first: only the rest is typed.
    pytest.param(
        "slurm_options",
        "--time=00:30:00--partition=gpu",
        "--partition=gpu --time=00:30:00",
        id="option-typed-onto-the-default",
    ),
    pytest.param(
        "ssh_key_file",
        "~/.ssh/id_ed25519~/.ssh/hpc",
        "~/.ssh/hpc",
        id="path-typed-onto-the-default",
    ),
]


@pytest.mark.parametrize(("question", "bad", "good"), REFUSED_AT_A_PROMPT)
def test_a_refused_answer_shows_what_to_type_is_asked_again_and_a_good_one_finishes(
    template_clone: Path, tmp_path: Path, question: str, bad: str, good: str
) -> None:
    expected = AT_A_PROMPT.get((question, bad)) or next(
        start for name, value, start in BAD_ANSWERS if (name, value) == (question, bad)
    )
    offered = str(QUESTIONS[question]["default"])
    typed_bad = bad.removeprefix(offered) if bad.startswith(offered) else CLEAR_LINE + bad
    backend = backend_of(question)
    backends = [backend] if backend else DEFAULT_BACKENDS
    project = tmp_path / "project"
    with copy_at_terminal(template_clone, project) as terminal:
        person = Person(terminal)

        def answer(name: str, typed: str = "") -> None:
            person.reach(name)
            if name == question:
                terminal.send(typed_bad + ENTER)
                line = person.refused(name, quiet=1)
                assert unreadable(line, name, expected) == "", line
                typed = CLEAR_LINE + good
            person.enter(typed)

        for name in GENERAL:
            answer(name)
        person.tick(DEFAULT_BACKENDS, backends)
        person.settings({"backends": backends}, backends, answer=answer)
        finished(terminal)

    assert answers_file(project)[question] == good
    executors = project / "src" / answers_file(project)["package_name"] / "executors.py"
    if question.endswith("_resources"):  # each entry is an instance of its own
        names = [entry.split(":")[0].strip() for entry in good.split(";")]
        assert [n for n in names if f"\n{backend}_{n} = " not in executors.read_text()] == []
    assert executors.is_file()


def test_every_refused_setting_shows_what_to_type_and_the_copy_with_all_backends_finishes(
    template_clone: Path, tmp_path: Path, ruff: Path
) -> None:
    """One session with every back end, answered by someone who gets each setting with a
    rule wrong first: Enter on an empty required one, or a "?" (no rule accepts it) typed
    into another, deleted after. Each is refused and asked again, and its toolbar shows
    what to type: readable after "Validation error for question 'NAME': " in one line that
    the terminal's width cuts. For the longest names only a few columns are left, so each
    message says what to type before its first "; " and the details after it, which the
    toolbar may cut. Then the copy finishes, with one executor per back end, lint-clean.
    """
    cut: list[str] = []
    refused_empty: list[str] = []

    def wrong_first(person: Person, name: str, typed: str) -> None:
        person.reach(name)
        rule = rule_of(name)
        if is_required(name):
            person.terminal.send(ENTER)
            refused_empty.append(name)
        elif rule:
            person.terminal.send("?")
        if rule or is_required(name):
            message = RULES[rule or ""]["expect"]
            line = person.refused(name)
            if why := unreadable(line, name, message):
                whole = TOOLBAR.format(name) + message
                cut.append(f"{name}: {why}\n  shown: {line}\n  whole: {whole}")
            if not is_required(name):
                person.terminal.send(BACKSPACE)
        person.enter(typed)

    project = tmp_path / "project"
    copy_every_backend_at_terminal(template_clone, project, wrong_first)

    assert cut == [], f"{len(cut)} cut before what to type at {COLUMNS} columns:\n" + "\n".join(cut)
    assert refused_empty == [name for name in SETTINGS if is_required(name)]
    assert answers_file(project)["backends"] == BACKENDS
    check_project(project, BACKENDS, ruff)


def test_ctrl_c_during_the_questions_stops_and_leaves_nothing(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    with copy_at_terminal(template_clone, project) as terminal:
        person = Person(terminal)
        person.choose_backends(["slurm"])
        person.answer("slurm_address", "login.example.org")
        person.reach("slurm_username")

        terminal.send(CTRL_C)
        assert terminal.wait_exit() != 0
        assert "Execution stopped by user" in terminal.text()

    assert not project.exists()


def test_ctrl_c_during_an_interactive_update_leaves_the_project_as_committed(
    template_clone: Path, tmp_path: Path
) -> None:
    project = copy_with_defaults(template_clone, tmp_path / "project")
    head = git(project, "rev-parse", "HEAD")
    with update_at_terminal(project) as terminal:
        person = Person(terminal)
        person.choose_backends([*DEFAULT_BACKENDS, "ssh"])
        person.answer("dask_scheduler_address")
        person.answer("dask_resources")
        person.reach("ssh_hostname")

        terminal.send(CTRL_C)
        assert terminal.wait_exit() != 0
        assert "Execution stopped by user" in terminal.text()

    assert git(project, "status", "--porcelain", "--ignored") == ""
    assert git(project, "rev-parse", "HEAD") == head


def test_defaults_without_a_required_setting_fail_naming_the_data_to_pass(
    template_clone: Path, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    run = subprocess.run(
        [COPIER, "copy", "--trust", "--defaults", "--data", 'backends=["ssh"]']
        + [str(template_clone), str(project)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )

    assert run.returncode != 0
    last = run.stdout.strip().splitlines()[-1]
    assert "ssh_hostname" in last and "--data ssh_hostname=" in last, run.stdout
    assert not project.exists()
