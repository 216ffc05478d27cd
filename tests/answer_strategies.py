"""Hypothesis strategies for answers the validators accept, drawn from their own rules.

Each setting's strategy is built from the answer_rules entry its validator checks (the
same regular expression), the free texts from the characters and lengths the macros in
includes/answers.jinja allow, and the back ends from copier.yml's choices. A strategy
may still produce an answer the validator refuses (a reserved package name, a port above
65535); the tests discard those, because what they test is every *accepted* answer.
Importing this module also loads the Hypothesis profile the tests run with (below).
"""

from __future__ import annotations

import os
import re
import string
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.database import DirectoryBasedExampleDatabase
from questionnaire import (
    BACKENDS,
    CONFIG,
    QUESTIONS,
    REGISTRY,
    RULES,
    backend_of,
    is_optional,
    is_required,
    rule_of,
)

from support import BUILD

# Property-based tests: a fixed, reproducible sample in CI; a long random exploration on
# demand (HYPOTHESIS_PROFILE=explore HYPOTHESIS_EXAMPLES=2000, see README), which keeps
# its failures in build/hypothesis and replays them first on the next run. conftest.py
# imports this module, so the profile holds for every test.
settings.register_profile(
    "ci",
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],  # no slow "explain" phase
)
settings.register_profile(
    "explore",
    max_examples=int(os.environ.get("HYPOTHESIS_EXAMPLES", "500")),
    database=DirectoryBasedExampleDatabase(str(BUILD / "hypothesis")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

RESERVED = {
    name
    for key in ("python_keywords", "stdlib_modules", "shadowed_modules", "project_modules")
    for name in CONFIG[key]["default"]
}
# Characters the free texts refuse besides the unprintable ones.
REFUSED_IN_TEXT = '"\\`'

# What people type most (ASCII words), mixed with any printable character at all.
_typed = st.sampled_from(string.ascii_letters + string.digits + " -_.,:;'()&/+!?")
_printable = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"),
    exclude_characters=REFUSED_IN_TEXT,
)


def free_text(max_size: int) -> st.SearchStrategy[str]:
    """One line of printable text with plain spaces, as project names and descriptions."""
    return st.text(alphabet=st.one_of(_typed, _typed, _printable, st.just(" ")), max_size=max_size)


# At least one ASCII letter, somewhere: the package name is made from it.
project_names = st.builds(
    lambda before, letter, after: (before + letter + after)[:80],
    free_text(40),
    st.sampled_from(string.ascii_letters),
    free_text(40),
)
package_names = st.from_regex(r"[a-z][a-z0-9_]{0,59}", fullmatch=True).filter(
    lambda name: "__" not in name and not name.endswith("_") and name not in RESERVED
)
descriptions = free_text(200)


# An option's value; "--" and a letter in it is an option run into it, which is refused.
_sbatch_values = st.from_regex(r"[A-Za-z0-9_.,:=/@+%-]{1,40}", fullmatch=True).filter(
    lambda value: not re.search("--[a-z]", value)
)


def rule_values(rule: str) -> st.SearchStrategy[str]:
    """Answers that match a rule's pattern; without a path run into another (its glued)."""
    values = st.from_regex(RULES[rule]["pattern"], fullmatch=True)
    glued = RULES[rule].get("glued")
    return values.filter(lambda value: not re.search(glued, value)) if glued else values


@st.composite
def sbatch_options(draw: st.DrawFn) -> str:
    """Long options as Slurm users type them, flags included, spaced any way."""
    names = draw(
        st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,23}", fullmatch=True), max_size=5, unique=True)
    )
    options = []
    for name in names:
        value = draw(st.none() | _sbatch_values)
        options.append(f"--{name}" if value is None else f"--{name}={value}")
    spaces = draw(st.lists(st.sampled_from([" ", "  "]), min_size=len(options) + 1))
    return spaces[0].lstrip() + "".join(o + s for o, s in zip(options, spaces[1:], strict=False))


def parse_sbatch_options(text: str) -> dict[str, str]:
    """What the executor's options must hold for what was typed: each option, as typed."""
    return {option[2:].partition("=")[0]: option[2:].partition("=")[2] for option in text.split()}


_dask_addresses = st.builds(
    "{}://{}:{}".format,
    st.sampled_from(["tcp", "tls"]),
    st.from_regex(r"[A-Za-z0-9.-]{1,60}", fullmatch=True),
    st.integers(1, 65535),
)


@st.composite
def named_resources(draw: st.DrawFn, backend: str) -> str:
    """A `<backend>_resources` answer: NAME: SETTINGS entries, `;` between, spaced any way.

    SETTINGS are sbatch options for slurm, else --KEYWORD=VALUE of the registry's
    resource_settings, each value from its rule. Entries equal to each other or to the
    back end's own answers are refused by the validator, and discarded by the tests.
    """
    allowed = REGISTRY[backend]["resource_settings"]
    names = st.from_regex(r"[a-z][a-z0-9_]{0,19}", fullmatch=True)
    entries = []
    for name in draw(st.lists(names, min_size=1, max_size=3, unique=True)):
        if allowed == "sbatch":
            settings = draw(sbatch_options().filter(str.strip))
        else:
            keys = draw(st.lists(st.sampled_from(sorted(allowed)), min_size=1, unique=True))
            values = [rule_values(allowed[key]) for key in keys]
            settings = " ".join(f"--{k}={draw(v)}" for k, v in zip(keys, values, strict=True))
        entries.append(f"{name}:{draw(st.sampled_from(['', ' ']))}{settings.strip()}")
    return draw(st.sampled_from(["; ", ";", " ; "])).join(entries)


def parse_named_resources(text: str) -> dict[str, dict[str, str]]:
    """Each entry's settings by name, as the sbatch options parse."""
    entries = (entry.partition(":") for entry in text.split(";") if entry.strip())
    return {name.strip(): parse_sbatch_options(settings) for name, _, settings in entries}


def setting(question: str) -> st.SearchStrategy[Any]:
    """Valid answers to one back-end setting; None stands for "press Enter" (the default)."""
    details = QUESTIONS[question]
    if question == "slurm_options":
        values = st.one_of(st.just(""), sbatch_options())
    elif question == "dask_scheduler_address":
        values = st.one_of(st.just(""), _dask_addresses)
    elif question.endswith("_resources"):
        values = st.one_of(st.just(""), named_resources(backend_of(question)))
    elif "choices" in details:
        values = st.sampled_from(list(details["choices"]))
    else:
        rule = rule_of(question)
        assert rule, f"no strategy for {question}: its validator names no rule"
        values = rule_values(rule)
        if is_optional(question):
            values = st.one_of(st.just(""), values)
    return values if is_required(question) else st.one_of(st.none(), values)


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """A whole questionnaire's answers, as --data would pass them (omitted = default)."""
    backends = draw(st.lists(st.sampled_from(BACKENDS), min_size=1, unique=True))
    drawn: dict[str, Any] = {
        "backends": backends,
        "project_name": draw(st.none() | project_names),
        "package_name": draw(st.none() | package_names),
        "description": draw(st.none() | descriptions),
        "update_pull_requests": draw(st.none() | st.booleans()),
    }
    for question in QUESTIONS:
        if backend_of(question) in backends:
            drawn[question] = draw(setting(question))
    return {name: value for name, value in drawn.items() if value is not None}
