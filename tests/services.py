"""Real, loopback-only services for integration tests: sshd, a one-node Slurm cluster, Dask.

Why real daemons: the Covalent SSH and Slurm plugins drive sshd through asyncssh and run
``sbatch``/``scontrol`` in a remote shell; a mock would not catch what breaks in practice.
Each daemon comes from Debian's packages (``.ci/install-services.sh``) and is started the
way a person would, as a plain foreground process. Teardown stops it by PID with every
process it spawned (children; the test user's processes; processes holding files open in
the fixture's directories, like slurmstepd), because failed plugin runs leave ssh sessions
and job steps behind. What a test run killed before its teardown left behind is ended at
the next start. Everything needs root and uses 127.0.0.1 only.

Give each service a ``workdir`` of its own, holding nothing else: any process with a file
open under it is ended at teardown. ssh_server's teardown also ends every process of the
test user.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import glob
import hashlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from support import alive, end_processes, free_port, port_open, process_tree, processes, uv

TEST_USER = "covtest"
FRESH_USER = "covfresh"  # made anew for each module that uses it: a new account
FRESH_UV_USER = "covfreshuv"  # the same, whose owner ran uv's installer first
LOGIN = "covalent-login"  # the Host alias a user would put in ~/.ssh/config
LOGIN2 = "covalent-login2"  # a second alias to the same sshd: another machine, as SSH sees it
LOGIN3 = "covalent-login3"  # a third, for two named resources besides the generated one
DOWN = "covalent-down"  # an alias for a port where nothing listens
SILENT = "covalent-silent"  # an alias for a port that accepts and never answers
SYSTEM_PYTHON = Path("/usr/bin/python3")  # Debian 12: 3.11, same major.minor as the client
SLURM_CONF = Path("/etc/slurm/slurm.conf")  # where every user's sbatch/squeue looks
# The tests' Dask clusters (their own, and the session server's) without two of Dask's
# diagnostics: the worker's sampling profiler (every 10 ms) and the event-loop tick
# (every 20 ms, to log a blocked loop). Tasks run as before; an idle cluster costs 1.2
# CPU-s a minute instead of 4.9 (measured), for the whole session.
QUIET_DASK = {
    "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
    "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "1s",
}
_SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, so it needs its absolute path
_BINARIES = f"{_SSHD} /usr/bin/ssh-keygen /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd"
_BINARIES += f" /usr/bin/sbatch /usr/bin/scontrol {SYSTEM_PYTHON}"
_RUN = Path("/run/lock/covtest-services")  # locks and PID records; a tmpfs
_MARK = "# written by tests/services.py"


def can_run_services() -> str | None:
    """Why the services cannot start here (for ``pytest.skip``), or None when they can."""
    if os.geteuid() != 0:
        return "test services need root (useradd, sshd, munged, slurmd)"
    missing = [b for b in _BINARIES.split() if not os.access(b, os.X_OK)]
    if not glob.glob("/usr/lib/python3.*/ensurepip/__init__.py"):
        missing.append("python3-venv")
    if missing:
        return f"missing {', '.join(missing)}: run .ci/install-services.sh"
    return None


# ---------------------------------------------------------------- processes


def _end_orphaned_runs() -> None:
    """End what fixtures of a test run that died before teardown left running."""
    table = processes()
    for path in _RUN.glob("*.json"):
        with contextlib.suppress(OSError, ValueError):
            rec = json.loads(path.read_text())
            if not alive(table, *rec["owner"]):
                roots = {int(p) for p, start in rec["pids"].items() if alive(table, int(p), start)}
                end_processes(lambda: process_tree(roots, tuple(rec["dirs"]), rec["uid"]))  # noqa: B023
                path.unlink()


class _Processes:
    """The daemons one fixture started; everything they spawned is ended by PID with them.
    A record under _RUN lets a later run end them if this process dies first."""

    def __init__(self, workdir: Path, uid: int | None = None, dirs: tuple[Path, ...] = ()):
        _RUN.mkdir(parents=True, exist_ok=True)
        _end_orphaned_runs()
        self.workdir, self.uid = workdir, uid
        self.dirs = tuple(f"{d}/" for d in (workdir, *dirs))
        self.procs: dict[str, subprocess.Popen] = {}
        self.record = _RUN / f"{uuid.uuid4().hex}.json"

    def _save(self) -> None:
        table = processes()
        pids = {p.pid: table[p.pid].start if p.pid in table else "?" for p in self.procs.values()}
        owner = [os.getpid(), table[os.getpid()].start]
        rec = {"owner": owner, "pids": pids, "dirs": self.dirs, "uid": self.uid}
        self.record.with_suffix(".tmp").write_text(json.dumps(rec))
        self.record.with_suffix(".tmp").rename(self.record)

    def start(self, name: str, argv: list, env: dict | None = None, **kw) -> subprocess.Popen:
        with open(self.workdir / f"{name}.out", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [str(a) for a in argv],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                **kw,
            )
        self._save()
        return self.procs[name]

    def wait(self, what: str, ready: Callable[[], bool], timeout: float) -> None:
        """Poll ``ready()`` until true; fail early, with its log, if a daemon died."""
        deadline = time.monotonic() + timeout
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    log = (self.workdir / f"{name}.out").read_text(errors="replace")
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n{log[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready in {timeout:.0f} s (see {self.workdir})")
            time.sleep(0.05)

    def _reap(self) -> None:
        for proc in self.procs.values():
            proc.poll()  # our own children would stay zombies otherwise

    def stop(self, name: str) -> None:
        """Stop one daemon and its descendants (e.g. to test a failure path)."""
        pid = self.procs[name].pid
        end_processes(lambda: process_tree({pid}), self._reap)

    def stop_all(self, grace: float = 5) -> None:
        running = {p.pid for p in self.procs.values() if p.poll() is None}
        end_processes(lambda: process_tree(running, self.dirs, self.uid), self._reap, grace)
        self.record.unlink(missing_ok=True)


@contextlib.contextmanager
def _exclusive(name: str, busy: str | None = None) -> Iterator[None]:
    """One holder per machine of global state (/etc/slurm, a venv being built).
    With ``busy``, fail with that message instead of waiting."""
    _RUN.mkdir(parents=True, exist_ok=True)
    with open(_RUN / f"{name}.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (fcntl.LOCK_NB if busy else 0))
        except BlockingIOError:
            raise RuntimeError(busy) from None
        yield


# ---------------------------------------------------------------- users and ssh


def ensure_user(name: str = TEST_USER) -> pwd.struct_passwd:
    """Create the unprivileged test user if missing; unlock it so sshd accepts its keys."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
    # useradd leaves the password "!" (locked): with UsePAM no, sshd then refuses even keys.
    subprocess.run(["usermod", "-p", "*", name], check=True)
    return pwd.getpwnam(name)


def run_as(user: str, *argv: str | Path, timeout: float = 600) -> str:
    """What `argv` prints when `user` runs it from their home, in a clean login-like
    environment: root's pyenv and PIP_* settings do not apply (pip uses PyPI)."""
    pw = pwd.getpwnam(user)
    env = {"HOME": pw.pw_dir, "USER": user, "LOGNAME": user, "PATH": "/usr/bin:/bin"}
    env |= {"LANG": "C.UTF-8", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    run = subprocess.run(
        [str(arg) for arg in argv],
        user=pw.pw_uid,
        group=pw.pw_gid,
        extra_groups=[],
        env=env,
        cwd=pw.pw_dir,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if run.returncode:
        raise RuntimeError(f"{argv} as {user} exited {run.returncode}: {run.stderr.strip()}")
    return run.stdout


@dataclasses.dataclass(frozen=True)
class SSHServer:
    host: str
    port: int
    username: str
    key_file: Path  # client private key; its public half is in the user's authorized_keys
    home: Path
    known_hosts: Path  # "[127.0.0.1]:port <host key>", for strict clients

    def command(self, *remote: str) -> list[str]:
        """argv for the OpenSSH client running ``remote`` as the test user, non-interactively."""
        opts = ["BatchMode=yes", f"UserKnownHostsFile={self.known_hosts}"]
        opts += ["StrictHostKeyChecking=yes", f"IdentityFile={self.key_file}", "IdentitiesOnly=yes"]
        target = f"{self.username}@{self.host}"
        return ["ssh", "-p", str(self.port), *(f"-o{o}" for o in opts), target, *remote]

    def ssh_config(self, alias: str) -> str:
        """A ~/.ssh/config block: the Covalent plugins take no port, but asyncssh reads this."""
        return (
            f"Host {alias}\n  HostName {self.host}\n  Port {self.port}\n"
            f"  User {self.username}\n  IdentityFile {self.key_file}\n"
        )


def _keygen(path: Path, comment: str) -> str:
    if not path.exists():
        cmd = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", path]
        subprocess.run(cmd, check=True)
    return Path(f"{path}.pub").read_text().strip()


def _stale_key(line: str) -> bool:
    comment = (line.split() or [""])[-1]
    return comment.startswith("covtest:") and not Path(comment[8:]).exists()


def _authorize(pw: pwd.struct_passwd, key: str, add: bool) -> None:
    ssh_dir = Path(pw.pw_dir) / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    keys = ssh_dir / "authorized_keys"
    lines = keys.read_text().splitlines() if keys.exists() else []
    # drop our key, and keys of earlier runs whose private key is gone (comment: its path)
    lines = [x for x in lines if x != key and not _stale_key(x)]
    keys.write_text("".join(f"{x}\n" for x in lines + [key] * add))
    for p in (ssh_dir, keys):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    keys.chmod(0o600)


def fresh_user(name: str) -> pwd.struct_passwd:
    """A user made anew, with an empty home: nothing installed, as on a new account."""
    with contextlib.suppress(KeyError):
        uid = pwd.getpwnam(name).pw_uid
        end_processes(lambda: process_tree(set(), (), uid))
        subprocess.run(["userdel", "--remove", name], check=True, capture_output=True)
    return ensure_user(name)


def _give_uv(pw: pwd.struct_passwd) -> str:
    """The tests' uv in the user's ~/.local/bin; that folder, for the user's PATH."""
    folder = Path(pw.pw_dir) / ".local" / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv(), folder / "uv")
    for path in (folder.parent, folder, folder / "uv"):
        os.chown(path, pw.pw_uid, pw.pw_gid)
    return str(folder)


@contextlib.contextmanager
def ssh_server(
    workdir: Path,
    port: int = 2222,
    user: str = TEST_USER,
    others: tuple[str, ...] = (),
    others_with_uv: tuple[str, ...] = (),
) -> Iterator[SSHServer]:
    """Debian's sshd on 127.0.0.1:port with its own config, letting only ``user`` (and
    the existing users ``others`` and ``others_with_uv``) in, by the same key. ``user``
    has uv on its PATH, as a well-kept account has, so that `setup` installs with uv
    there; ``others``, new accounts, have only pip; ``others_with_uv`` have uv in
    ~/.local/bin, where uv's installer puts it, and on their PATH."""
    workdir.mkdir(parents=True, exist_ok=True)
    pw = ensure_user(user)
    uv_folders = {name: _give_uv(pwd.getpwnam(name)) for name in (user, *others_with_uv)}
    others = (*others, *others_with_uv)
    procs = _Processes(workdir, uid=pw.pw_uid)
    if port_open("127.0.0.1", port):
        raise RuntimeError(f"port {port} is already in use")
    host_key, key_file = workdir / "ssh_host_ed25519_key", workdir / "id_ed25519"
    host_pub = _keygen(host_key, "covtest-host")
    client_pub = _keygen(key_file, f"covtest:{key_file}")
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {' '.join(host_pub.split()[:2])}\n")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
    config = workdir / "sshd_config"
    config.write_text(
        f"""{_MARK}
ListenAddress 127.0.0.1:{port}
HostKey {host_key}
PidFile {workdir}/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers {" ".join((user, *others))}
Subsystem sftp internal-sftp
# the plugins open a connection per task, several at once
MaxStartups 100
MaxSessions 100
LogLevel VERBOSE
"""
        + "".join(
            f"Match User {name}\n  SetEnv PATH={folder}:/usr/local/bin:/usr/bin:/bin\n"
            for name, folder in uv_folders.items()
        )
    )
    subprocess.run([_SSHD, "-t", "-f", config], check=True)  # config errors, clearly
    for account in (pw, *map(pwd.getpwnam, others)):
        _authorize(account, client_pub, add=True)
    try:
        procs.start("sshd", [_SSHD, "-D", "-e", "-f", config])
        procs.wait(f"sshd on port {port}", lambda: port_open("127.0.0.1", port), 10)
        yield SSHServer("127.0.0.1", port, user, key_file, Path(pw.pw_dir), known_hosts)
    finally:
        procs.stop_all()
        for account in (pw, *map(pwd.getpwnam, others)):
            with contextlib.suppress(OSError):
                _authorize(account, client_pub, add=False)


def remote_python_env(
    user: str, packages: list[str], constraints: str = "", timeout: float = 1200
) -> Path:
    """A venv of Debian's python3 owned by ``user`` with ``packages``, within
    ``constraints`` (a constraints file's text); returns its python.

    The remote side of the SSH/Slurm plugins needs the client's covalent and cloudpickle
    versions and cannot read root's pyenv. Built once per package list, under
    ~user/.cache/covtest-venvs/<hash>, by the user (`run_as`).
    """
    pw = ensure_user(user)
    version = subprocess.run([SYSTEM_PYTHON, "-VV"], capture_output=True, text=True).stdout
    key = "\n".join([version, *sorted(packages), constraints])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    venv = Path(pw.pw_dir) / ".cache" / "covtest-venvs" / digest
    python, done = venv / "bin" / "python", venv / ".complete"
    if done.exists():
        return python
    with _exclusive(f"venv-{digest}"):
        if done.exists():  # another process built it while we waited
            return python
        shutil.rmtree(venv, ignore_errors=True)  # left half-built by an interrupted run
        run_as(user, SYSTEM_PYTHON, "-m", "venv", venv, timeout=timeout)
        pinned = venv / "constraints.txt"  # the user's own file: a pipe of root's is not
        pinned.write_text(constraints)
        os.chown(pinned, pw.pw_uid, pw.pw_gid)
        # With the user's uv, as `setup` installs on such an account (pip took 25 to 40
        # CPU-seconds more, at the start of the session, when every worker is busy), and
        # compiled, as pip does: the first tasks, several at once, would each compile it.
        uv_of_user = Path(_give_uv(pw)) / "uv"
        certs = ["env", "UV_SYSTEM_CERTS=1", "UV_NATIVE_TLS=1"]  # as `setup` runs uv
        install = [uv_of_user, "pip", "install", "--quiet", "--compile-bytecode"]
        install += ["--python", python, "-c", pinned, *packages]
        run_as(user, *certs, *install, timeout=timeout)
        run_as(user, "touch", done)
    return python


# ---------------------------------------------------------------- slurm


@dataclasses.dataclass
class SlurmCluster:
    conf: Path  # the slurm.conf all client commands read, for every user
    partition: str  # the default partition
    other_partition: str  # a second partition over the same node, as a cluster's debug
    named_partitions: tuple[str, ...]  # more over the same node, for named resources
    # A partition whose only node is reserved for maintenance (and down): a job there
    # waits with the reason "ReqNodeNotAvail, Reserved for maintenance", as on clusters.
    maintenance_partition: str
    hostname: str
    workdir: Path  # state and logs
    _procs: _Processes = dataclasses.field(repr=False)

    def stop_controller(self) -> None:
        """Stop slurmctld only, so tests can see how clients fail without a controller."""
        self._procs.stop("slurmctld")


def _node_state(hostname: str) -> str:
    cmd = ["scontrol", "-o", "show", "node", hostname]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    return next((w[6:] for w in out.split() if w.startswith("State=")), "")


@contextlib.contextmanager
def slurm_cluster(
    workdir: Path,
    partition: str = "main",
    other: str = "debug",
    named: tuple[str, ...] = ("gpu", "bigmem"),
    maintenance: str = "maint",
) -> Iterator[SlurmCluster]:
    """munged, slurmctld and slurmd: a one-node cluster on 127.0.0.1, one per machine,
    and a partition `maintenance` of a node that is reserved for maintenance and down.

    The config is installed as /etc/slurm/slurm.conf (a copy: workdir may be private), the
    path compiled into Debian's sbatch/squeue/scontrol, so any user finds it, including one
    in a non-interactive ssh session. A config that was there before is restored afterwards.
    The node is idle at once, but slurmctld schedules its first job ~3 s after it started.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with _exclusive("slurm", "a slurm_cluster already runs on this machine"):
        # The job spool must be reachable by job users (slurmstepd execs the batch script
        # as them): in a private workdir that fails with "execve(): Permission denied".
        spool = Path("/var/spool/covtest-slurmd")
        procs = _Processes(workdir, dirs=(spool,))
        munge = pwd.getpwnam("munge")
        Path("/run/munge").mkdir(mode=0o755, exist_ok=True)
        os.chown("/run/munge", munge.pw_uid, munge.pw_gid)
        key = Path("/etc/munge/munge.key")
        if not key.exists():
            subprocess.run(["mungekey", "--create", f"--keyfile={key}"], check=True)
            os.chown(key, munge.pw_uid, munge.pw_gid)
        # slurmd -C prints this machine's CPUs and memory: declaring more drains the node.
        cmd = ["slurmd", "-C"]
        node = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split("\n")[0]
        hostname = node.split()[0].split("=", 1)[1]
        shutil.rmtree(spool, ignore_errors=True)
        for d in (workdir / "state", spool):
            d.mkdir(mode=0o755, parents=True, exist_ok=True)
        text = f"""{_MARK}: a one-node test cluster, removed at teardown.
# Defaults: SlurmUser root, munge auth, no accounting (so sacct has nothing to show).
ClusterName=covtest
SlurmctldHost={hostname}(127.0.0.1)
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
StateSaveLocation={workdir}/state
SlurmdSpoolDir={spool}
SlurmctldPidFile={workdir}/slurmctld.pid
SlurmdPidFile={workdir}/slurmd.pid
SlurmctldLogFile={workdir}/slurmctld.log
SlurmdLogFile={workdir}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# with the default 3 s delay every job waits 3 s; now only the first does
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
ReturnToService=2
{node} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName={partition} Nodes={hostname} Default=YES MaxTime=INFINITE State=UP
PartitionName={other} Nodes={hostname} MaxTime=INFINITE State=UP
NodeName={maintenance}-node NodeAddr=127.0.0.1 CPUs=1 State=DOWN
PartitionName={maintenance} Nodes={maintenance}-node MaxTime=INFINITE State=UP
""" + "".join(f"PartitionName={n} Nodes={hostname} MaxTime=INFINITE State=UP\n" for n in named)
        (workdir / "slurm.conf").write_text(text)
        backup = workdir / "slurm.conf.orig"
        if SLURM_CONF.exists() and _MARK not in SLURM_CONF.read_text():
            shutil.copy2(SLURM_CONF, backup)
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        SLURM_CONF.write_text(text)
        SLURM_CONF.chmod(0o644)
        try:
            as_munge = {"user": munge.pw_uid, "group": munge.pw_gid, "extra_groups": []}
            procs.start("munged", ["/usr/sbin/munged", "--foreground"], **as_munge)
            procs.wait("munged", Path("/run/munge/munge.socket.2").exists, 10)
            procs.start("slurmctld", ["/usr/sbin/slurmctld", "-D", "-f", SLURM_CONF])
            procs.start("slurmd", ["/usr/sbin/slurmd", "-D", "-f", SLURM_CONF])
            procs.wait(f"Slurm node {hostname}", lambda: _node_state(hostname) == "IDLE", 30)
            reserve = ["scontrol", "create", "reservation", "ReservationName=maintenance"]
            when = ["StartTime=now", "Duration=infinite", "Flags=maint,ignore_jobs"]
            options = [*when, f"Nodes={maintenance}-node", "Users=root"]
            subprocess.run([*reserve, *options], check=True, capture_output=True, timeout=10)
            yield SlurmCluster(
                SLURM_CONF, partition, other, named, maintenance, hostname, workdir, procs
            )
        finally:
            try:
                # slurmstepd ignores SIGTERM: cancel jobs the normal way while we still can
                ctld = procs.procs.get("slurmctld")
                with contextlib.suppress(subprocess.SubprocessError):
                    if ctld and ctld.poll() is None:
                        partitions = [partition, other, *named, maintenance]
                        cancel = ["scancel", "-p", ",".join(partitions)]
                        subprocess.run(cancel, capture_output=True, timeout=9)
                procs.stop_all(grace=1)
            finally:
                if backup.exists():
                    shutil.copy2(backup, SLURM_CONF)
                else:
                    SLURM_CONF.unlink(missing_ok=True)
                shutil.rmtree(spool, ignore_errors=True)


@dataclasses.dataclass
class Services:
    """Everything a real dispatch needs: a Covalent server, and services started for one
    test module (tests/conftest.py, fixture `services`)."""

    server: object  # support.CovalentServer
    home: Path  # HOME of the Covalent server and the CLI: holds ~/.ssh
    remote_python: Path  # the test user's ready virtualenv
    dask_address: str
    slurm: SlurmCluster
    sshd: SSHServer


# ---------------------------------------------------------------- silence and Pythons


@contextlib.contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never says a word, like a host
    behind a firewall that swallows packets, as SSH clients see it."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.listen(64)
        yield server.getsockname()[1]


def other_minor_python(workdir: Path) -> tuple[Path | None, str]:
    """An interpreter of another minor version that any user may run, or None and why.

    Debian 12 has only 3.11; root's pyenv may have others, which other users cannot
    reach (/root is private) and whose binary looks for libpython in pyenv's prefix.
    A hard-linked copy with its own binary pointed at its own lib/ serves.
    """
    ours = f"{sys.version_info[0]}.{sys.version_info[1]}"
    candidates = sorted(glob.glob("/root/.pyenv/versions/3.1[0-9].*/bin/python3.1[0-9]"))
    source = next((Path(c) for c in candidates if not c.endswith(f"python{ours}")), None)
    if source is None:
        return None, f"no Python 3.x other than {ours} in /root/.pyenv/versions"
    if not shutil.which("patchelf"):
        return None, "patchelf missing: run .ci/install-services.sh"
    copy = workdir / f"python{source.name[6:]}"
    if not copy.exists():
        # hard links where /root and workdir share a file system, else a copy
        if subprocess.run(["cp", "-al", source.parent.parent, copy]).returncode:
            shutil.rmtree(copy, ignore_errors=True)
            subprocess.run(["cp", "-a", source.parent.parent, copy], check=True)
        binary = copy / "bin" / source.name
        shutil.copy2(source, binary.with_suffix(".tmp"))  # its own inode: patch that one
        binary.with_suffix(".tmp").replace(binary)
        subprocess.run(["patchelf", "--set-rpath", "$ORIGIN/../lib", binary], check=True)
    copy.chmod(0o755)  # workdir must be reachable by every user too
    return copy / "bin" / source.name, ""


# ---------------------------------------------------------------- dask


@contextlib.contextmanager
def dask_cluster(
    python: Path, port: int, workdir: Path | None = None, env: dict | None = None
) -> Iterator[str]:
    """A Dask scheduler on 127.0.0.1:port and one 1-thread worker, from ``python``'s env.

    Yields the scheduler address. The worker needs covalent to run DaskExecutor tasks;
    ``env`` (default: ours) can point its HOME/COVALENT_CONFIG_DIR at a temp dir; both
    get QUIET_DASK.
    """
    address = f"tcp://127.0.0.1:{port}"
    env = {**(os.environ if env is None else env), **QUIET_DASK}
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        workdir.mkdir(parents=True, exist_ok=True)
        procs = _Processes(workdir)
        if port_open("127.0.0.1", port):
            raise RuntimeError(f"port {port} is already in use")
        try:
            args = f"--host 127.0.0.1 --port {port} --no-dashboard".split()
            cli = [python, "-m", "distributed.cli.dask_scheduler", *args]
            procs.start("dask-scheduler", cli, env=env, cwd=workdir)
            procs.wait("dask scheduler", lambda: port_open("127.0.0.1", port), 60)
            args = "--host 127.0.0.1 --nthreads 1 --nworkers 1 --no-dashboard".split()
            args += ["--local-directory", workdir / "worker"]
            cli = [python, "-m", "distributed.cli.dask_worker", address, *args]
            procs.start("dask-worker", cli, env=env, cwd=workdir)
            log = workdir / "dask-worker.out"
            procs.wait(
                "dask worker", lambda: "Registered to:" in log.read_text("utf-8", "replace"), 60
            )
            yield address
        finally:
            procs.stop_all()
