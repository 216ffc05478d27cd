"""The `copier` command the tests run: Copier's own entry point, as the console script
that installing Copier makes, with Jinja's compiled code shared through the folder
that COVTEST_JINJA_STORE names (jinja_memo.py says why that is safe).

Every command compiled each question's help, default, validator and `when`, and each
file, from text again: about 40% of a `copier copy`'s CPU time (measured), in each of
some 60 commands a session runs. Without the variable it is Copier as installed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

STORE = "COVTEST_JINJA_STORE"
HERE = Path(__file__).resolve().parent
# The launcher: named `copier`, as Copier names itself in its usage and help after the
# file it was started as; loads this file by its path and puts nothing on sys.path.
LAUNCHER = """#!{python}
import importlib.util, sys
spec = importlib.util.spec_from_file_location("copier_command", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.exit(module.main())
"""


def launcher(folder: Path) -> Path:
    """The `copier` command in `folder`, for this Python (written once, whole)."""
    path = folder / "copier"
    text = LAUNCHER.format(python=sys.executable, path=str(Path(__file__).resolve()))
    if not path.exists() or path.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"copier.{os.getpid()}"
        partial.write_text(text)
        partial.chmod(0o755)
        partial.replace(path)
    return path


def main() -> int:
    from copier.__main__ import CopierApp

    store = os.environ.get(STORE)
    if not store:
        return CopierApp.run()
    spec = importlib.util.spec_from_file_location("jinja_memo", HERE / "jinja_memo.py")
    memo = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(memo)  # type: ignore[union-attr]
    with memo.compiled_once(Path(store)):
        return CopierApp.run()
