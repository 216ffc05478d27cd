"""Fixtures for the template's tests: an isolated Copier, the template, a shared stack.

Fixtures only, and the hooks that prepare them: the helpers live in plain modules
(questionnaire, projects, support, ...).
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import answer_strategies  # noqa: F401  (loads the Hypothesis profile before any test)
import cpu_time
import pytest
import scheduling
from copier import _template as copier_template
from copier_command import STORE
from jinja_memo import compiled_once
from projects import (
    REMOTE_CONSTRAINTS,
    REMOTE_REQUIREMENTS,
    Installer,
    build_stack,
    git,
    make_template_clone,
    overlay,
)
from questionnaire import REGISTRY, answers_for
from services import (
    DOWN,
    FRESH_USER,
    FRESH_UV_USER,
    LOGIN,
    LOGIN2,
    LOGIN3,
    QUIET_DASK,
    SILENT,
    TEST_USER,
    Services,
    can_run_services,
    dask_cluster,
    fresh_user,
    remote_python_env,
    silent_port,
    slurm_cluster,
    ssh_server,
)

from support import (
    BUILD,
    CovalentServer,
    bin_dir,
    copy_working_tree,
    covalent_env,
    free_port,
)

# The two virtualenvs the tests wait minutes for on a fresh machine, built in the
# background from the start of the session: the Covalent stack, and the test user's
# remote one (services.remote_python_env, which waits for a build under way itself).
_BUILDS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="venv")
_STACK: list[Future[Path]] = []


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the modules that need no Covalent stack first, while it builds, and those of
    scheduling.LAST at the end (each module stays in one piece, in its order). A module
    on the session's Covalent server that scheduling.ON_THE_SERVER does not name would
    run beside it in parallel workers: it stops the session instead."""
    needs_stack = {item.module for item in items if "stack_python" in item.fixturenames}
    last = {item.module for item in items if item.nodeid.split("::")[0] in scheduling.LAST}
    items.sort(key=lambda item: (item.module in last, item.module in needs_stack))
    if missing := scheduling.unlisted(items):
        pytest.exit(f"add {missing} to ON_THE_SERVER in tests/scheduling.py")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(cpu_time.CpuTime(), "cpu-time")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(scheduling.Units(), "units-of-work")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building what the selected tests will need."""
    if any("stack_python" in item.fixturenames for item in session.items):
        _STACK.append(_BUILDS.submit(build_stack))
    if any("services" in item.fixturenames for item in session.items) and not can_run_services():
        _BUILDS.submit(remote_python_env, TEST_USER, REMOTE_REQUIREMENTS, REMOTE_CONSTRAINTS)


@pytest.fixture(autouse=True, scope="session")
def copier_yml_parsed_once() -> Iterator[None]:
    """Copier parses copier.yml and its includes with PyYAML's pure-Python loader on
    every run: 0.4 s of each render in this process (measured), spent again on the same
    bytes hundreds of times. The result depends only on the template's YAML files, so
    each distinct set of them is parsed once and every run gets its own deep copy.
    Copier run as a command (the terminal tests, the CLI ones) parses as usual."""
    original = copier_template.load_template_config
    parsed: dict[str, Any] = {}

    def load(conf_path: Path, quiet: bool = False) -> Any:
        root, digest = conf_path.parent, hashlib.sha256()
        for path in sorted(root.rglob("*.y*ml")):  # copier.yml and all it may include
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
        key = digest.hexdigest()
        if key not in parsed:
            parsed[key] = original(conf_path, quiet)
        return copy.deepcopy(parsed[key])

    with mock.patch.object(copier_template, "load_template_config", load):
        yield


@pytest.fixture(autouse=True, scope="session")
def jinja_compiled_once(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Each template text compiles once in the session, in this process and the other
    workers and the `copier` commands the tests run (jinja_memo says why it is safe)."""
    session = tmp_path_factory.getbasetemp()  # a worker's is inside the session's
    store = (session.parent if os.environ.get("PYTEST_XDIST_WORKER") else session) / "jinja"
    with pytest.MonkeyPatch.context() as patch, compiled_once(store):
        patch.setenv(STORE, str(store))
        yield


@pytest.fixture(autouse=True)
def isolated_copier(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No user Copier settings or git identity leak into a test."""
    settings = tmp_path_factory.getbasetemp() / "copier-settings.yml"
    settings.write_text("{}\n")
    monkeypatch.setenv("COPIER_SETTINGS_PATH", str(settings))
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Template Tests")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "tests@example.invalid")


@pytest.fixture(scope="session")
def ruff(stack_python: Path) -> Path:
    """The pinned ruff of the generated projects, from the shared stack."""
    return bin_dir(stack_python.parent.parent) / "ruff"


@pytest.fixture(scope="session")
def template_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's template files, without git: Copier uses them in place, the
    fastest way to render many projects."""
    return copy_working_tree(tmp_path_factory.mktemp("template-files"))


@pytest.fixture(scope="session")
def template_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree committed in a clone of the template and tagged v1.0.0, as
    `copier update` needs it; tests that release versions of their own make their own."""
    return make_template_clone(tmp_path_factory.mktemp("template-clone"))


@pytest.fixture(scope="session")
def rendered(template_files: Path, copie_session):
    """`rendered(backends, **answers)`: the project these answers make, rendered once per
    session by pytest-copie's session-scoped `copie_session` (as `copier copy --trust
    --defaults`) and the same folder handed to every test that asks for the same answers.
    Read it only; to change it (a file, its own tests' bytecode), take
    `private_copy(rendered(...), tmp_path)`. Each project is a git repository (the
    post-copy hook's): a file changed in one fails the session."""
    projects: dict[str, Path] = {}

    def render(backends: list[str], **answers: Any) -> Path:
        data = answers_for(backends, **answers)
        key = json.dumps(data, sort_keys=True)
        if key not in projects:
            result = copie_session.copy(extra_answers=data, template_dir=template_files)
            assert result.exception is None, result.exception
            projects[key] = result.project_dir
        return projects[key]

    yield render
    changed = {
        str(project): status
        for project in projects.values()
        if (status := git(project, "status", "--porcelain", "--ignored"))
    }
    assert not changed, f"tests changed shared rendered projects: {changed}"


@pytest.fixture(scope="session")
def stack_python(pytestconfig: pytest.Config) -> Path:
    """One virtualenv with the locked Covalent stack and every plugin, reused by all tests.

    Synced once under build/ with uv (from the start of the session) and kept while the
    lock stays the same. A parallel worker (dev.py test) gets its own overlay of it, in
    which it installs the projects it tests.
    """
    stack = _STACK[0].result() if _STACK else build_stack()
    worker = getattr(pytestconfig, "workerinput", {}).get("workerid")  # pytest-xdist's
    return overlay(stack, BUILD / f"stack-{worker}") if worker else stack


@pytest.fixture
def install_project(stack_python: Path, tmp_path: Path) -> Iterator[Any]:
    """Install generated projects into the shared stack; uninstall them afterwards."""
    installer = Installer(stack_python, tmp_path / "covalent")
    yield installer.install
    installer.uninstall_all()


@pytest.fixture(scope="session")
def covalent_server(
    stack_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CovalentServer]:
    """One real Covalent server for the session (a start costs about 10 s), from the
    shared stack, with its own config, database and HOME; always stopped."""
    root = tmp_path_factory.mktemp("covalent")
    # One Dask worker: enough for the workflows on the server's own cluster, and it
    # costs half the CPU of the default two while the server waits through the session.
    options = ["--workers", "1"]
    server = CovalentServer(bin_dir(stack_python.parent.parent), root, free_port(), options)
    server.env |= QUIET_DASK
    (root / "home").mkdir()
    server.env["HOME"] = str(root / "home")  # the server's ~/.ssh, for the SSH plugins
    started = time.monotonic()
    with server:
        print(f"\ncovalent server: up in {time.monotonic() - started:.1f} s")
        yield server


@pytest.fixture(scope="session")
def project_probe(
    stack_python: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[Path, str, list[str]], dict[str, Any]]]:
    """One long-lived process of the stack's Python that builds generated projects'
    executors and workflow graphs (tests/project_probe.py); always stopped."""
    env = covalent_env(tmp_path_factory.mktemp("probe-covalent"))
    process = subprocess.Popen(
        [str(stack_python), str(Path(__file__).with_name("project_probe.py"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )

    def probe(src: Path, package: str, backends: list[str]) -> dict[str, Any]:
        plugins = [REGISTRY[b]["plugin_module"] for b in backends if "plugin_module" in REGISTRY[b]]
        request = {"src": str(src), "package": package, "backends": backends}
        request["plugin_modules"] = plugins
        process.stdin.write(json.dumps(request) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        return json.loads(process.stdout.readline())  # type: ignore[union-attr]

    try:
        yield probe
    finally:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def services(
    stack_python: Path, covalent_server: CovalentServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Services]:
    """Real sshd, Slurm and Dask on loopback for one test module, set up the way the
    generated README tells a user: the key where the answers say, and Host aliases in
    the server's ~/.ssh/config (the plugins take no port). The sshd lets in the test
    user, with a ready virtualenv, and FRESH_USER and FRESH_UV_USER, made anew with
    nothing installed but, for the second, uv.

    Where the services cannot run (not root, packages missing) the module skips with the
    reason; with REQUIRE_REAL_BACKENDS=1 (set by .ci/run) that is a failure instead.
    """
    reason = can_run_services()
    if reason:
        if os.environ.get("REQUIRE_REAL_BACKENDS") == "1":
            pytest.fail(f"real back ends required but unavailable: {reason}")
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("services")
    started = time.monotonic()
    remote_python = remote_python_env(TEST_USER, REMOTE_REQUIREMENTS, REMOTE_CONSTRAINTS)
    venv_seconds = time.monotonic() - started
    fresh_user(FRESH_USER)
    fresh_user(FRESH_UV_USER)
    with (
        ssh_server(
            root / "sshd", port=free_port(), others=(FRESH_USER,), others_with_uv=(FRESH_UV_USER,)
        ) as sshd,
        slurm_cluster(root / "slurm") as slurm,
        dask_cluster(stack_python, free_port(), root / "dask") as dask_address,
        silent_port() as silent,
    ):
        home = Path(covalent_server.env["HOME"])  # asyncssh reads ~/.ssh when it connects
        (home / ".ssh").mkdir(mode=0o700, exist_ok=True)
        shutil.copy(sshd.key_file, home / ".ssh" / "id_ed25519")
        (home / ".ssh" / "config").write_text(
            "".join(sshd.ssh_config(alias) for alias in (LOGIN, LOGIN2, LOGIN3)).replace(
                str(sshd.key_file), "~/.ssh/id_ed25519"
            )
            + f"Host {DOWN}\n  HostName 127.0.0.1\n  Port {free_port()}\n"
            + f"Host {SILENT}\n  HostName 127.0.0.1\n  Port {silent}\n"
        )
        # The HPC plugin checks a job every 60 s unless covalent.conf says otherwise, and
        # every 30 s at most: that, set the way a user would.
        set_poll = "import covalent as ct; ct.set_config('executors.hpc.poll_freq', 30)"
        subprocess.run([stack_python, "-c", set_poll], env=covalent_server.env, check=True)
        services_seconds = time.monotonic() - started - venv_seconds
        print(f"\nstart-up: remote venv {venv_seconds:.1f} s, services {services_seconds:.1f} s")
        yield Services(covalent_server, home, remote_python, dask_address, slurm, sshd)
