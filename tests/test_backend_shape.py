"""Every back end is one folder and one registry entry, and nothing else.

Each failure says what to add or fix, so that the next back end can be added by
following the messages. The last test adds a back end the way the registry's header
says to, in a copy of the template, and runs the generated project's own tests.
"""

from __future__ import annotations

import builtins
import re

import pytest
import yaml
from questionnaire import (
    BACKENDS,
    CHOICES,
    INCLUDES,
    QUESTIONS,
    REGISTRY,
    REPO,
    RULES,
    backend_of,
)
from readme_table import README, backend_table, section

BACKEND_DIR = REPO / "_backends"
REGISTRY_FILE = "includes/backends.yml"
# What a back end's folder must hold, and what each part is for.
PARTS = {
    "questions.yml": "its settings, one Copier question each (a comment alone if none)",
    "executor.py.jinja": "its block of executors.py: one shared executor, `{{ instance }} = ...`",
    "readme.md.jinja": "its section of the project's README, starting '### <name>'",
    "readiness.py.jinja": "readiness/<name>.py, the check of its class (see local's)",
}
REQUIRED_FIELDS = {"label", "executor_class", "title", "workflow_note", "tested"}
OPTIONAL_FIELDS = {
    "requirement",
    "why",
    "remote_requirement",
    "setup",
    "light_work",
    "exports_aws_env",
    "plugin_module",
    "plugin_why",
    "uv_overrides",
    "task_image",
    "resource_settings",
    "second_resource",
    "resource_defaults",
    "workarounds",
    "quiet_warnings",
}
# The helpers workarounds.py defines, which executor blocks may call.
WORKAROUNDS = {"environment_unchanged", "covalent_cache_dir", "slurm_venv"}
# Copier draws " » ● " before each choice; the line must fit an 80-column terminal.
CHOICE_COLUMNS = 80 - len(" » ● ")


def report(problems: list[str]) -> None:
    """Fail with one line per problem, each saying what to do."""
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def questions_of(name: str) -> dict[str, dict]:
    return yaml.safe_load((BACKEND_DIR / name / "questions.yml").read_text()) or {}


def test_choices_are_the_registry_in_its_order_and_fit_80_columns() -> None:
    assert BACKENDS == list(REGISTRY)
    too_wide = [label for label in CHOICES if len(label) > CHOICE_COLUMNS]
    assert not too_wide, f"shorten these labels in {REGISTRY_FILE}: {too_wide}"


def quiet_warning_problems(name: str, entry: dict) -> list[str]:
    """Each warning a project ignores has its reason, a class of warning, and a module
    or message that matches only it; its comment in __init__.py fits 100 columns."""
    problems = []
    for warning in entry.get("quiet_warnings", []):
        if set(warning) - {"why", "category", "module", "message"} or "why" not in warning:
            problems.append(f"{name}: quiet_warnings take why, category, module, message")
        if not issubclass(getattr(builtins, warning.get("category", ""), int), Warning):
            problems.append(f"{name}: {warning.get('category')} is not a built-in Warning class")
        if not warning.get("module") and not warning.get("message"):
            problems.append(f"{name}: a quiet warning needs a module or a message to match")
        sharing = [b for b, e in REGISTRY.items() if warning in e.get("quiet_warnings", [])]
        if len(f"# {', '.join(sharing)}: {warning.get('why')}") > 100:
            problems.append(f"{name}: shorten the why of {warning.get('why')!r}")
    return problems


def test_every_registry_entry_has_the_fields_a_back_end_needs() -> None:
    problems = []
    for name, entry in REGISTRY.items():
        if missing := REQUIRED_FIELDS - set(entry):
            problems.append(f"{name}: add {sorted(missing)}")
        if unknown := set(entry) - REQUIRED_FIELDS - OPTIONAL_FIELDS:
            problems.append(f"{name}: unknown {sorted(unknown)} (see the fields in the header)")
        if entry.get("tested") not in ("real", "offline"):
            problems.append(f"{name}: tested must be real or offline")
        if bool(entry.get("requirement")) != bool(entry.get("why")):
            problems.append(f"{name}: a plugin requirement needs its why, and only then")
        if bool(entry.get("plugin_module")) != bool(entry.get("plugin_why")):
            problems.append(f"{name}: plugin_module and plugin_why go together")
        overrides = entry.get("uv_overrides", [])
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            problems.append(f"{name}: uv_overrides must be a list of requirements")
        elif overrides and not entry.get("requirement"):
            problems.append(f"{name}: uv_overrides are for a plugin requirement's sake only")
        if unknown := set(entry.get("workarounds", [])) - WORKAROUNDS:
            problems.append(f"{name}: workarounds.py has no {sorted(unknown)}")
        problems.extend(named_resource_problems(name, entry))
        problems.extend(quiet_warning_problems(name, entry))
    classes = [entry["executor_class"] for entry in REGISTRY.values()]
    if shared := sorted({cls for cls in classes if classes.count(cls) > 1}):
        problems.append(f"one back end per executor class (readiness checks by class): {shared}")
    report([f"{REGISTRY_FILE}: {problem}" for problem in problems])


def named_resource_problems(name: str, entry: dict) -> list[str]:
    """What resource_settings and second_resource lack: they go together, each keyword
    with a rule, its resource.py.jinja handling every keyword, its _resources question."""
    settings, second = entry.get("resource_settings"), entry.get("second_resource")
    if settings is None and second is None:
        return []
    if settings is None or second is None:
        return [f"{name}: resource_settings and second_resource go together"]
    problems = []
    if set(second) != {"name", "settings", "what"} or "_" in second["name"][:1]:
        wanted = f"name (NAME, not {name}_NAME), settings, what"
        problems.append(f"{name}: second_resource takes {wanted}")
    if settings != "sbatch":
        if not isinstance(settings, dict):
            return [f"{name}: resource_settings is sbatch or a mapping of keyword to rule"]
        for keyword, rule in settings.items():
            if rule not in RULES:
                problems.append(f"{name}: resource_settings {keyword}: no answer rule {rule}")
        resource = BACKEND_DIR / name / "resource.py.jinja"
        text = resource.read_text() if resource.is_file() else ""
        for keyword in settings:
            if f"settings.{keyword}" not in text:
                problems.append(f"_backends/{name}/resource.py.jinja: pass settings.{keyword} on")
        for token in second["settings"].split():
            if token[2:].partition("=")[0] not in settings:
                problems.append(f"{name}: second_resource has {token}, not a resource setting")
    if f"{name}_resources" not in QUESTIONS:
        problems.append(f"_backends/{name}/questions.yml: add {name}_resources (see ssh's)")
    return problems


def test_every_back_end_has_its_folder_with_every_part() -> None:
    problems = []
    for name in REGISTRY:
        for part, purpose in PARTS.items():
            if not (BACKEND_DIR / name / part).is_file():
                problems.append(f"add _backends/{name}/{part}: {purpose}")
        resource = (BACKEND_DIR / name / "resource.py.jinja").is_file()
        if resource != bool(REGISTRY[name].get("resource_settings")):
            problems.append(
                f"_backends/{name}/resource.py.jinja goes with resource_settings in the"
                " registry: its block for a named resource"
            )
        if REGISTRY[name].get("task_image"):
            for part in (f"{name}.Dockerfile.jinja", f"{name}_task.py.jinja"):
                if not (BACKEND_DIR / name / part).is_file():
                    problems.append(f"add _backends/{name}/{part}: its task image (task_image)")
    folders = {path.name for path in BACKEND_DIR.iterdir() if path.is_dir()} - {"__pycache__"}
    for orphan in sorted(folders - set(REGISTRY)):
        problems.append(f"_backends/{orphan}/ has no entry in {REGISTRY_FILE}")
    report(problems)


def test_every_back_end_has_its_questions_included_in_registry_order() -> None:
    included = [path for path in INCLUDES if path.startswith("_backends/")]
    expected = [f"_backends/{name}/questions.yml" for name in REGISTRY]
    missing = [path for path in expected if path not in included]
    assert not missing, f"add at the end of {REGISTRY_FILE}, one document each: " + ", ".join(
        f"---\\n!include {path}" for path in missing
    )
    assert included == expected, f"order the !include lines of {REGISTRY_FILE} as its registry"


def test_settings_are_named_after_their_back_end_and_asked_only_for_it() -> None:
    problems = []
    for name in REGISTRY:
        for question, details in questions_of(name).items():
            if backend_of(question) != name or not question.startswith(f"{name}_"):
                problems.append(f"{question}: name it {name}_<executor parameter>")
            if f"'{name}' in backends" not in str(details.get("when", "")):
                problems.append(f"{question}: add when: \"{{{{ '{name}' in backends }}}}\"")
            if not details.get("help"):
                problems.append(f"{question}: add a help line")
            if question not in QUESTIONS:
                problems.append(f"{question}: Copier does not ask it (is it included?)")
    report(problems)


def test_every_snippet_names_its_back_end() -> None:
    problems = []
    for name in REGISTRY:
        executor = (BACKEND_DIR / name / "executor.py.jinja").read_text()
        if not re.search(r"^\s*\{\{ instance \}\} = ", executor, flags=re.MULTILINE):
            problems.append(f"{name}/executor.py.jinja: define it as `{{{{ instance }}}} = ...`")
        called = set(re.findall(r"\b([a-z_]+)\(", executor)) & WORKAROUNDS
        if missing := called - set(REGISTRY[name].get("workarounds", [])):
            problems.append(f"{name}: add workarounds: {sorted(missing)} (its block calls them)")
        readme = (BACKEND_DIR / name / "readme.md.jinja").read_text()
        if not readme.startswith(f"### {name}\n"):
            problems.append(f"{name}/readme.md.jinja: start with the heading '### {name}'")
        readiness = (BACKEND_DIR / name / "readiness.py.jinja").read_text()
        cls = REGISTRY[name]["executor_class"]
        if f"EXECUTOR = ct.executor.{cls}\n" not in readiness:
            problems.append(
                f"{name}/readiness.py.jinja: name its class, EXECUTOR = ct.executor.{cls}"
            )
        if "async def check(executor: EXECUTOR) -> Report:" not in readiness:
            problems.append(
                f"{name}/readiness.py.jinja: define `async def check(executor: EXECUTOR) -> Report`"
            )
        setup = "async def setup(executor: EXECUTOR, say: Progress) -> list[str]:" in readiness
        if bool(REGISTRY[name].get("setup")) != setup:
            problems.append(
                f"{name}/readiness.py.jinja: `async def setup(executor: EXECUTOR, say: Progress)"
                " -> list[str]` iff setup: true"
            )
    report(problems)


def test_readme_table_of_back_ends_is_the_registry() -> None:
    expected = backend_table()
    assert section(README.read_text()) == expected, (
        "README.md's table of back ends differs from the registry: run "
        f"`.venv/bin/python tests/readme_table.py --write`; it should read:\n{expected}"
    )
