"""Helpers shared by dev.py and the template's tests: virtualenvs, ports, process trees
and a Covalent server.

Standard library only, because dev.py runs it before any virtualenv exists.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # Windows: one process at a time is up to the user
    fcntl = None

REPO = Path(__file__).resolve().parent
BUILD = REPO / "build"


def bin_dir(env: Path) -> Path:
    """The scripts folder of a virtualenv."""
    return env / ("Scripts" if os.name == "nt" else "bin")


def uv() -> str:
    """The pinned uv dev.py installs in the tool environment, else the one on PATH."""
    for here in (Path(sys.executable).parent / "uv", bin_dir(REPO / ".venv") / "uv"):
        if here.exists():
            return str(here)
    return shutil.which("uv") or "uv"


def _stamp(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def synced(
    project: Path, environment: Path, *options: str, compile_bytecode: bool | None = None
) -> Path:
    """`uv sync --locked` of `project` (with these options) into `environment`; return
    its python. `--locked` fails when uv.lock does not match pyproject.toml, so what is
    installed is exactly the lock. Skipped when the lock, the project's metadata and the
    options are what the last sync had.

    Bytecode is compiled at install (as pip does and uv does not by default) where
    PYTHONDONTWRITEBYTECODE is set, unless `compile_bytecode` says: there every process
    would otherwise compile covalent and its plugins again (3 to 13 s per `import
    covalent`, measured). Elsewhere each module is compiled once, when first imported:
    the tests' stack, with every plugin, takes 47 CPU-seconds to compile whole and
    0.8 to install without (dev.py test lets the tests write bytecode)."""
    if compile_bytecode is None:
        compile_bytecode = bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    stamp = _stamp(
        (project / "uv.lock").read_text(), (project / "pyproject.toml").read_text(), *options
    )
    marker = environment / ".uv-sync-sha256"
    python = bin_dir(environment) / "python"
    with exclusive(environment.with_name(f".{environment.name}.lock")):  # test workers
        if marker.exists() and marker.read_text() == stamp and python.exists():
            return python
        env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment.resolve())}
        subprocess.run(
            [uv(), "sync", "--locked", "--quiet", *options]
            + (["--compile-bytecode"] if compile_bytecode else []),
            cwd=project,
            env=env,
            check=True,
        )
        marker.write_text(stamp)
    return python


@contextlib.contextmanager
def exclusive(lock: Path) -> Iterator[None]:
    """Held by one process at a time (where fcntl exists): parallel test workers share
    the environments under build/."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        if fcntl is not None:
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def copy_working_tree(destination: Path) -> Path:
    """Copy the repository's files as they are now (tracked or new, not ignored)."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listing.split("\0")):
        if (REPO / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return destination


def free_port(preferred: int | None = None) -> int:
    """Return `preferred` when nothing listens there, else a port free on 127.0.0.1 right
    now (the kernel picks it)."""
    if preferred is not None and not port_open("127.0.0.1", preferred):
        return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(host: str, port: int) -> bool:
    """True when something accepts connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# Reserved (tcpmux) and never served here: a connection to it is refused at once.
NO_SERVER_PORT = 1


def covalent_env(root: Path) -> dict[str, str]:
    """Environment that keeps Covalent's config, caches, logs and database under `root`.

    Importing covalent writes its config and creates folders under the home directory;
    these variables (read by covalent/_shared_files/defaults.py) send all of it to root.
    Its config points at a port where no server listens until one started with this
    environment writes its own: so no other server (the demo's on 48008, say) answers.
    """
    root.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        COVALENT_SVC_PORT=str(NO_SERVER_PORT),
        COVALENT_CONFIG_DIR=str(root / "config"),
        XDG_CONFIG_DIR=str(root / "config"),
        XDG_CACHE_HOME=str(root / "cache"),
        XDG_DATA_HOME=str(root / "data"),
        COVALENT_DATA_DIR=str(root / "data" / "covalent"),
        COVALENT_CACHE_DIR=str(root / "cache" / "covalent"),
        COVALENT_LOGDIR=str(root / "logs"),
        PYTHONWARNINGS="ignore",
    )
    return env


# ---------------------------------------------------------------- process trees


@dataclasses.dataclass(frozen=True)
class Process:
    state: str  # "Z" zombie, "X" dead, else alive
    ppid: int
    start: str  # start time: a PID reused by another process has another one
    uid: int


def processes() -> dict[int, Process]:
    """Every process on the machine, from /proc (or `ps` where there is no /proc)."""
    table = {}
    if not os.path.isdir("/proc/self"):
        ps = ["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "uid=", "-o", "state="]
        for line in subprocess.run(ps, capture_output=True, text=True).stdout.splitlines():
            pid, ppid, uid, state = line.split()[:4]
            table[int(pid)] = Process(state[0], int(ppid), "", int(uid))
        return table
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                stat = Path(f"/proc/{name}/stat").read_text()
                fields = stat[stat.rindex(")") + 2 :].split()
                uid = os.stat(f"/proc/{name}").st_uid
                table[int(name)] = Process(fields[0], int(fields[1]), fields[19], uid)
    return table


def alive(table: dict[int, Process], pid: int, start: str | None = None) -> bool:
    """Running (a zombie counts as gone) and, if given, started at `start` (not reused)."""
    return pid in table and table[pid].state not in "ZX" and start in (None, table[pid].start)


def _holds_file_in(pid: int, dirs: tuple[str, ...]) -> bool:
    """This finds slurmstepd: reparented to PID 1, environment wiped by its setproctitle,
    but it keeps the slurmd log open."""
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(dirs):
                    return True
    return False


def process_tree(roots: set[int], dirs: tuple[str, ...] = (), uid: int | None = None) -> set[int]:
    """Live PIDs of `roots`, of `uid`'s processes and of processes holding files open
    under `dirs` (never this process or its ancestors), with all their descendants."""
    table = processes()
    me, ours = os.getpid(), set()
    while me in table and me not in ours:
        ours.add(me)
        me = table[me].ppid
    roots = set(roots) | {pid for pid, p in table.items() if uid is not None and p.uid == uid}
    roots |= {pid for pid in table if dirs and pid not in ours and _holds_file_in(pid, dirs)}
    children = defaultdict(list)
    for pid, process in table.items():
        children[process.ppid].append(pid)
    pids, todo = set(roots), list(roots)
    while todo:
        for child in children[todo.pop()]:
            if child not in pids:
                pids.add(child)
                todo.append(child)
    return {pid for pid in pids if alive(table, pid)}


def end_processes(
    find: Callable[[], set[int]],
    reap: Callable[[], object] = lambda: None,
    grace: float = 5,
    signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL),
) -> None:
    """Send each signal in turn (SIGTERM, then SIGKILL: slurmstepd ignores TERM) to what
    `find()` returns, until it returns nothing; `reap()` collects our own children."""
    pids = find()
    for sig in signals:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            reap()
            table = processes()
            pids = {p for p in pids if alive(table, p)} | find()
            if not pids:
                return
            time.sleep(0.05)
    raise RuntimeError(f"processes survived {signals[-1].name}: {sorted(pids)}")


class CovalentServer:
    """A real `covalent start` server on its own port, with its own config and database.

    Used as a context manager it always stops the server and every process it started.
    """

    def __init__(self, bin_path: Path, root: Path, port: int, options: Sequence[str] = ()) -> None:
        """`options` of `covalent start`: an idle server's own Dask cluster costs 5 to 8
        CPU-seconds a minute with its default two workers, 3 to 4 with one (`--workers
        1`), 0.1 without a cluster (`--no-cluster`)."""
        self.covalent = bin_path / "covalent"
        self.root = root
        self.port = port
        self.options = list(options)
        self.env = covalent_env(root) | {"COVALENT_SVC_PORT": str(port)}  # its own port

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self, timeout: float = 300) -> CovalentServer:
        """Start the server and wait until its port answers; on failure, stop what started.

        `covalent start` waits without a bound for its Dask cluster, which on a loaded
        2-core machine took 100 s to start: so the bound is generous, and a failure ends
        with what the server logged."""
        try:
            subprocess.run(
                [str(self.covalent), "start", "--port", str(self.port), *self.options],
                env=self.env,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=timeout,
            )
            deadline = time.monotonic() + timeout
            while not port_open("127.0.0.1", self.port):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"Covalent server on port {self.port} did not answer")
                time.sleep(0.5)
        except (subprocess.SubprocessError, TimeoutError) as error:
            self.stop()
            logs = sorted((self.root / "logs").glob("*.log"))
            tail = "".join(log.read_text()[-3000:] for log in logs) or "(nothing)\n"
            raise RuntimeError(f"{error}\nThe server's log ends:\n{tail}") from error
        return self

    def server_pid(self) -> int | None:
        """The server's PID from the file `covalent start` writes in its cache dir."""
        for pidfile in (self.root / "cache").rglob("ui.pid"):
            text = pidfile.read_text().strip()
            if text.isdigit():
                return int(text)
        return None

    def stop(self) -> None:
        """Stop the server the polite way, then kill whatever is left of it."""
        pid = self.server_pid()
        subprocess.run(
            [str(self.covalent), "stop"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
            check=False,
        )
        if pid is not None:  # what `covalent stop` left: its Dask cluster, say
            end_processes(lambda: process_tree({pid}), signals=(signal.SIGKILL,))

    def __enter__(self) -> CovalentServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
