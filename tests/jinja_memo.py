"""Jinja compiles each template string once per test process, not once per Copier run.

Copier builds a new Jinja environment for every copy and update and compiles every
question's help, default, validator and `when` again from text (9,000 compiles, a third
of an in-process update's time, measured). What `Environment.compile` returns depends
only on the text and on the environment's syntax settings, extensions, filters and
tests, so the code is kept under those and reused; a template rendered with another set
of filters or settings compiles afresh. Copier run as a command (the terminal tests,
the CLI ones) compiles as usual.

A template file's path is only the code's file name (for tracebacks), not part of the
code Jinja generates; and every update renders from a new clone of the template, so
under the path each file would compile anew in every run (half of an in-process
update's CPU, measured). The code is kept by text and handed out under each path.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType
from typing import Any
from unittest import mock

import jinja2
from jinja2.utils import _PassArg

SETTINGS = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "is_async",
)


def _calls(functions: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """Names and how each is called: the generated code depends on both."""
    return tuple(sorted((name, str(_PassArg.from_obj(f))) for name, f in functions.items()))


def fingerprint(env: jinja2.Environment) -> tuple[Any, ...]:
    """Everything of an environment that the code it generates depends on."""
    autoescape = "callable" if callable(env.autoescape) else bool(env.autoescape)
    return (
        type(env),
        tuple(sorted(f"{type(e).__module__}.{type(e).__name__}" for e in env.extensions.values())),
        *(getattr(env, name) for name in SETTINGS),
        autoescape,
        env.finalize is not None and str(_PassArg.from_obj(env.finalize)),
        _calls(env.filters),
        _calls(env.tests),
    )


def renamed(code: CodeType, filename: str) -> CodeType:
    """The code, its functions' (macros, blocks) with it, under this file name."""
    if code.co_filename == filename:
        return code
    consts = tuple(renamed(c, filename) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_filename=filename, co_consts=consts)


@contextmanager
def compiled_once() -> Iterator[dict[tuple[Any, ...], Any]]:
    """Within this block, each (environment kind, text) compiles once."""
    original = jinja2.Environment.compile
    codes: dict[tuple[Any, ...], Any] = {}
    # Each environment's fingerprint, taken again when a filter, test or extension is added.
    kinds: weakref.WeakKeyDictionary[jinja2.Environment, tuple[Any, ...]] = (
        weakref.WeakKeyDictionary()
    )

    def compile(self, source, name=None, filename=None, raw=False, defer_init=False):  # noqa: A001
        if not isinstance(source, str):  # a parsed tree: nothing to key it by
            return original(self, source, name, filename, raw, defer_init)
        sizes = (len(self.filters), len(self.tests), len(self.extensions))
        known = kinds.get(self)
        if known is None or known[0] != sizes:
            known = kinds[self] = (sizes, fingerprint(self))
        key = (known[1], source, name, raw, defer_init)
        if key not in codes:
            codes[key] = original(self, source, name, filename, raw, defer_init)
        else:  # what parsing does besides: extensions' preprocess hooks (Copier's yield
            self.preprocess(source, name, filename)  # tag resets its state in one)
        code = codes[key]
        return code if raw else renamed(code, filename or "<template>")

    with mock.patch.object(jinja2.Environment, "compile", compile):
        yield codes
