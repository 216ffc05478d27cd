"""A command run at a real 80-column pseudo-terminal, seen through a terminal emulator.

Copier's prompts are prompt_toolkit applications: they redraw lines, cut the help and the
validation toolbar at the terminal's width, and read keys in raw mode. Reading the raw
output would test escape codes, not what a person sees, so everything the command prints
is fed into a pyte screen of the same size, and the tests assert on that screen.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import pexpect
import pyte
from pyte.screens import wcwidth  # pyte's own measure of a character's width

# Keys as a terminal sends them.
ENTER = "\r"
SPACE = " "
DOWN = "\x1b[B"
BACKSPACE = "\x7f"
CLEAR_LINE = "\x15"  # Ctrl-U: prompt_toolkit deletes everything before the cursor
CTRL_C = "\x03"

COLUMNS = 80


class Terminal:
    """One command in a pseudo-terminal of `rows` x 80, and the screen it has drawn.

    Keys sent before prompt_toolkit has switched the terminal to raw mode can be lost,
    so callers wait for a question to be visible and `settle` before they type.
    """

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path | None = None,
        rows: int = 40,
        env: dict[str, str] | None = None,
    ) -> None:
        # Lines that scroll off the top are kept, so the whole session can be printed.
        self.screen = pyte.HistoryScreen(COLUMNS, rows, history=5000)
        self._stream = pyte.ByteStream(self.screen)
        # Rows as text, drawn again only where pyte marks them changed (`dirty`): the
        # tests read the screen after each read, and pyte's `display` draws every
        # character of every row (70% of a copy test's own CPU).
        self._rows = [""] * rows
        self._scrolled: list[str] = []
        environment = dict(os.environ)  # the test's Copier settings and git identity
        environment.update(
            TERM="xterm-256color",
            PROMPT_TOOLKIT_NO_CPR="1",  # no cursor-position requests nobody answers
            COLUMNS=str(COLUMNS),
            LINES=str(rows),
        )
        environment.update(env or {})
        self.child = pexpect.spawn(
            argv[0],
            argv[1:],
            cwd=str(cwd) if cwd else None,
            env=environment,
            dimensions=(rows, COLUMNS),
            echo=False,
        )
        self.exitstatus: int | None = None

    def __enter__(self) -> Terminal:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the command if it still runs (a failed test must not leave it waiting)."""
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()

    def _read(self, timeout: float) -> bool | None:
        """Feed what the command prints within `timeout` to the screen.

        True when something came, False when nothing did, None once the command has
        closed the terminal.
        """
        try:
            self._stream.feed(self.child.read_nonblocking(65536, timeout=timeout))
            return True
        except pexpect.TIMEOUT:
            return False
        except pexpect.EOF:
            return None

    @staticmethod
    def _render(line: dict[int, pyte.screens.Char]) -> str:
        """A row as pyte's `display` draws it: a wide character's second cell skipped."""
        chars, wide = [], False
        for x in range(COLUMNS):
            if wide:
                wide = False
                continue
            data = line[x].data
            wide = wcwidth(data[:1]) == 2
            chars.append(data)
        return "".join(chars)

    def rows(self) -> list[str]:
        """The visible rows, as pyte's `display` gives them."""
        dirty, self.screen.dirty = self.screen.dirty, set()
        for y in dirty:
            self._rows[y] = self._render(self.screen.buffer[y])
        return self._rows

    def text(self) -> str:
        """The visible screen, one line per row, trailing spaces and empty rows removed."""
        return "\n".join(line.rstrip() for line in self.rows()).rstrip("\n")

    def transcript(self) -> str:
        """Every line drawn so far: the lines scrolled off the top, then the screen."""
        top = self.screen.history.top
        if len(top) < len(self._scrolled) or len(top) == top.maxlen:
            self._scrolled = []  # history full: its oldest lines are gone
        for line in list(top)[len(self._scrolled) :]:
            self._scrolled.append(self._render(line).rstrip())
        return "\n".join([*self._scrolled, self.text()]).rstrip("\n")

    def line_with(self, needle: str) -> str:
        """The lowest visible row that contains `needle` (trailing spaces removed)."""
        found = [line.rstrip() for line in self.rows() if needle in line]
        assert found, f"{needle!r} on no line of the screen:\n{self.text()}"
        return found[-1]

    def wait_until(self, done: Callable[[], bool], what: str, timeout: float = 30) -> None:
        """Read until `done()` holds; fail naming `what`, with the screen as it is."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not on screen after {timeout} s:\n{self.text()}")
            if self._read(0.1) is None and not done():
                raise AssertionError(f"{what} never shown; the command ended:\n{self.text()}")

    def wait_for(self, needle: str, timeout: float = 30) -> None:
        """Read until `needle` is visible somewhere on the screen."""
        self.wait_until(lambda: needle in self.text(), repr(needle), timeout)

    def settle(self, quiet: float = 0.3, timeout: float = 10) -> None:
        """Read until the command prints nothing for `quiet` seconds (a prompt is drawn)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(quiet):
            pass

    def send(self, keys: str) -> None:
        """Type `keys` (see the key constants above)."""
        self.child.send(keys)

    def wait_exit(self, timeout: float = 120) -> int:
        """Read everything until the command ends; its exit status (128+N for signal N)."""
        deadline = time.monotonic() + timeout
        while self._read(0.2) is not None:
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout} s:\n{self.text()}")
        self.child.wait()
        self.child.close()
        status = self.child.exitstatus
        self.exitstatus = 128 + self.child.signalstatus if status is None else status
        return self.exitstatus
