"""Jinja compiles each template string once per test session, not once per Copier run.

Copier builds a new Jinja environment for every copy and update and compiles every
question's help, default, validator and `when` again from text (9,000 compiles, a third
of an in-process update's time, measured). What `Environment.compile` returns depends
only on the text and on the environment's syntax settings, extensions, filters and
tests, so the code is kept under those and reused; a template rendered with another set
of filters or settings compiles afresh. Copier's uvx command (test_template_update.py,
as the generated GitHub workflow runs it) compiles as usual.

A template file's path is only the code's file name (for tracebacks), not part of the
code Jinja generates; and every update renders from a new clone of the template, so
under the path each file would compile anew in every run (half of an in-process
update's CPU, measured). The code is kept by text and handed out under each path.

With a `store` folder the code is also kept on disk (marshal, one file per key), where
the test workers and the `copier` commands the tests run (copier_command.py) share it:
the same texts compile once per session, not once per process and command.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
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


class Store:
    """Compiled code in a folder that processes share: a file per key, written whole
    (renamed into place), so a reader finds a file complete or not at all."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # marshal's format and Jinja's code are those of this Python and this Jinja.
        self.salt = f"{sys.version}\0{jinja2.__version__}\0"

    def _path(self, key: tuple[Any, ...]) -> Path:
        digest = hashlib.sha256((self.salt + repr(key)).encode()).hexdigest()
        return self.folder / digest

    def get(self, key: tuple[Any, ...]) -> Any:
        try:
            return marshal.loads(self._path(key).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None

    def put(self, key: tuple[Any, ...], code: Any) -> None:
        path = self._path(key)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_bytes(marshal.dumps(code))
        partial.replace(path)


@contextmanager
def compiled_once(store: Path | None = None) -> Iterator[dict[tuple[Any, ...], Any]]:
    """Within this block, each (environment kind, text) compiles once; with a `store`,
    once for every process that uses that folder."""
    original = jinja2.Environment.compile
    codes: dict[tuple[Any, ...], Any] = {}
    shared = Store(store) if store else None
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
        code = codes.get(key)
        if code is None and shared and (code := shared.get(key)) is not None:
            codes[key] = code
        if code is None:
            code = codes[key] = original(self, source, name, filename, raw, defer_init)
            if shared:
                shared.put(key, code)
        else:  # what parsing does besides: extensions' preprocess hooks (Copier's yield
            self.preprocess(source, name, filename)  # tag resets its state in one)
        return code if raw else renamed(code, filename or "<template>")

    with mock.patch.object(jinja2.Environment, "compile", compile):
        yield codes
