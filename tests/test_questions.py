"""copier.yml: choices, registry and snippets agree; bad answers are refused clearly."""

from __future__ import annotations

import ast
import keyword
import sys
import tomllib
from pathlib import Path

import copier
import pytest
from conftest import BACKENDS, CONFIG, REGISTRY, REPO, answers_for
from support import copy_working_tree

TEMPLATE = REPO / "template"
WORKFLOWS = TEMPLATE / "src" / "{{package_name}}" / "workflows"


def test_every_choice_has_a_registry_entry_and_snippets() -> None:
    assert list(REGISTRY) == BACKENDS
    snippet_dirs = sorted(p.name for p in (TEMPLATE / "_backends").iterdir() if p.is_dir())
    assert snippet_dirs == sorted(BACKENDS)
    for backend in BACKENDS:
        assert (TEMPLATE / "_backends" / backend / "executor.py.jinja").is_file()
        assert (TEMPLATE / "_backends" / backend / "readme.md.jinja").is_file()
        stub = WORKFLOWS / f"{{% if '{backend}' in backends %}}{backend}.py{{% endif %}}.jinja"
        assert stub.is_file(), stub


def test_backend_settings_are_named_after_their_backend_and_asked_only_for_it() -> None:
    for name, question in CONFIG.items():
        if not isinstance(question, dict) or "when" not in question or question["when"] is False:
            continue
        backend = next(b for b in BACKENDS if name.startswith(f"{b}_"))
        assert f"'{backend}' in backends" in question["when"], name
        assert question.get("help"), f"{name} has no help"


def test_no_question_asks_for_a_credential() -> None:
    words = ("secret", "password", "token", "credential", "access_key")
    assert not [name for name in CONFIG if any(word in name for word in words)]


def test_reserved_names_cover_keywords_and_this_pythons_standard_library() -> None:
    stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    assert stdlib <= set(CONFIG["stdlib_modules"]["default"])
    assert {w for w in keyword.kwlist if w.islower()} == set(CONFIG["python_keywords"]["default"])
    assert "covalent" in CONFIG["shadowed_modules"]["default"]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's template files, without git: Copier then uses them in place."""
    return copy_working_tree(tmp_path_factory.mktemp("snapshot"))


def copy_with(template: Path, tmp_path: Path, **answers: object) -> Path:
    destination = tmp_path / "project"
    copier.run_copy(
        str(template),
        destination,
        data=answers_for(answers.pop("backends", ["local"]), **answers),  # type: ignore[arg-type]
        defaults=True,
        quiet=True,
        skip_tasks=True,  # the answers are what is under test, not the hooks
    )
    return destination


@pytest.mark.parametrize(
    ("question", "value", "expected"),
    [
        ("package_name", "class", "is a Python keyword"),
        ("package_name", "json", "would shadow the standard library module"),
        ("package_name", "covalent", "would shadow the Covalent stack's module"),
        ("package_name", "covalent_slurm_plugin", "would shadow the Covalent stack's module"),
        ("package_name", "9lives", "starting with a letter"),
        ("package_name", "my-pkg", 'for example "my_pkg"'),
        ("package_name", "café", "lowercase ASCII letters"),
        ("package_name", "", "Must not be empty"),
        ("project_name", 'say "hi"', "contains a quote"),
        ("project_name", "", "Must not be empty"),
        ("description", "two\nlines", "single line"),
        ("backends", [], "Choose at least one back end"),
    ],
)
def test_bad_answer_is_refused_with_what_is_expected(
    template: Path, tmp_path: Path, question: str, value: object, expected: str
) -> None:
    answers = {question: value} if question != "backends" else {"backends": value}
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copy_with(template, tmp_path, **answers)
    assert expected in str(error.value)
    assert not (tmp_path / "project").exists(), "a refused answer must leave nothing behind"


@pytest.mark.parametrize(
    ("question", "value", "expected"),
    [
        ("dask_scheduler_address", "10.0.0.5:8786", "expected tcp://HOST:PORT"),
        ("dask_scheduler_address", "tcp://10.0.0.5:99999", "a port is a number from 1 to 65535"),
        ("ssh_hostname", "alice@login", "not a host name"),
        ("ssh_username", "a b", "not a user name"),
        ("ssh_key_file", "-----BEGIN OPENSSH PRIVATE KEY-----", "not a plain file path"),
        ("slurm_address", "login:2222", "no user@ or :port"),
        ("slurm_options", "{partition: 'debug; rm -rf ~'}", "not a plain sbatch value"),
        ("slurm_options", "{--partition: debug}", "not an sbatch long option name"),
        ("slurm_options", "[debug]", "not a mapping"),
        ("awsbatch_region", "mars-1", "not an AWS region"),
        ("awsbatch_s3_bucket_name", "My_Bucket", "not an S3 bucket name"),
        ("gcpbatch_project_id", "X", "not a project ID"),
        ("azurebatch_tenant_id", "tenant", "expected a GUID"),
    ],
)
def test_bad_backend_setting_is_refused(
    template: Path, tmp_path: Path, question: str, value: str, expected: str
) -> None:
    backend = next(b for b in REGISTRY if question.startswith(f"{b}_"))
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copy_with(template, tmp_path, backends=[backend], **{question: value})
    assert expected in str(error.value)
    assert not (tmp_path / "project").exists()


def test_refused_answer_leaves_an_existing_folder_as_it_was(template: Path, tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")

    with pytest.raises(ValueError, match="question 'package_name'"):
        copy_with(template, tmp_path, package_name="class")

    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (folder / "notes.txt").read_text() == "mine\n"


FREE_TEXT = [
    name
    for name, question in CONFIG.items()
    if isinstance(question, dict)
    and question.get("type") == "str"
    and "choices" not in question
    and question.get("when") is not False
]
INJECTIONS = [
    'x"; import os; os.system("rm -rf ~")  #',
    "x\nimport os",
    "x'; rm -rf ~; echo '",
    "x$(rm -rf ~)",
    "x`id`",
    "x\\",
]


def backend_of(question: str) -> str:
    return next((b for b in BACKENDS if question.startswith(f"{b}_")), "local")


def code_shape(project: Path) -> dict[str, str]:
    """Every Python file's syntax tree with its strings blanked, and the TOML's keys.

    An answer that is only ever data changes strings, never this shape.
    """
    shape = {}
    for path in sorted(project.rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = ""
        shape[str(path.relative_to(project))] = ast.dump(tree)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    shape["pyproject.toml"] = str(sorted(pyproject["project"]))
    return shape


@pytest.fixture(scope="module")
def baseline_shapes(template: Path, tmp_path_factory: pytest.TempPathFactory):
    """The code shape of a plain project per back end, rendered once each."""
    shapes: dict[str, dict[str, str]] = {}

    def shape_for(backend: str) -> dict[str, str]:
        if backend not in shapes:
            path = tmp_path_factory.mktemp(f"baseline-{backend}")
            shapes[backend] = code_shape(copy_with(template, path, backends=[backend], **FIXED))
        return shapes[backend]

    return shape_for


FIXED = {"package_name": "pkg"}  # else project_name would rename the package


@pytest.mark.parametrize("question", FREE_TEXT)
def test_free_text_answer_is_refused_or_inert(
    template: Path, tmp_path: Path, baseline_shapes, question: str
) -> None:
    backend = backend_of(question)
    expected = baseline_shapes(backend)
    for number, payload in enumerate(INJECTIONS):
        try:
            project = copy_with(
                template,
                tmp_path / str(number),
                backends=[backend],
                **(FIXED | {question: payload}),
            )
        except ValueError:
            continue  # refused at the question: fine
        assert code_shape(project) == expected, f"{question}={payload!r} changed the code"
        for script in project.rglob("*.sh"):
            assert payload not in script.read_text(), f"{question}={payload!r} in {script}"
