"""copier.yml: choices, registry and snippets agree; bad answers are refused clearly."""

from __future__ import annotations

import ast
import keyword
import re
import sys
import tomllib
from pathlib import Path

import copier
import pytest
from questionnaire import (
    BACKENDS,
    CONFIG,
    QUESTIONS,
    REGISTRY,
    REPO,
    RULES,
    answers_for,
    backend_of,
    rule_of,
)

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


def copy_with(template_files: Path, tmp_path: Path, **answers: object) -> Path:
    destination = tmp_path / "project"
    copier.run_copy(
        str(template_files),
        destination,
        data=answers_for(answers.pop("backends", ["local"]), **answers),  # type: ignore[arg-type]
        defaults=True,
        quiet=True,
        skip_tasks=True,  # the answers are what is under test, not the hooks
    )
    return destination


# One bad answer of each kind a validator refuses, and how its message starts: with what
# to type. Copier prints "Validation error for question 'NAME': " before the message.
BAD_ANSWERS = [
    ("project_name", "", "Type a name; e.g. Protein folding sweeps"),
    ("project_name", 'say "hi"', "Use plain words; no double quotes"),
    ("project_name", "a\tb", "Use plain words on one line"),
    ("project_name", "a\u2028b", "Use plain words on one line"),
    ("project_name", "x" * 81, "Keep it to 80 characters; it has 81"),
    ("project_name", "1234", "Use at least one letter a-z; the package name"),
    ("package_name", "", "Type a name; lowercase a-z, 0-9 and _"),
    ("package_name", "class", "Choose another name; a Python keyword, e.g. class_workflows"),
    ("package_name", "json", "Choose another name; a standard library module, e.g. json_workflows"),
    ("package_name", "test", "Choose another name; a standard library module, e.g. test_workflows"),
    (
        "package_name",
        "covalent",
        "Choose another name; a package Covalent installs, e.g. covalent_workflows",
    ),
    (
        "package_name",
        "pydantic",
        "Choose another name; a package Covalent installs, e.g. pydantic_workflows",
    ),
    (
        "package_name",
        "conftest",
        "Choose another name; a module the tests import, e.g. conftest_workflows",
    ),
    ("package_name", "9lives", "Use lowercase a-z, 0-9 and _; start with a letter, e.g. lives"),
    ("package_name", "my-pkg", "Use lowercase a-z, 0-9 and _; start with a letter, e.g. my_pkg"),
    ("package_name", "café", "Use lowercase a-z, 0-9 and _; start with a letter, e.g. cafe"),
    ("package_name", "my__pkg", "Use single underscores; one between words, e.g. my_pkg"),
    ("package_name", "pkg_", "Use single underscores; one between words, e.g. pkg"),
    ("package_name", "a" * 61, "Keep it to 60 characters; it has 61"),
    ("description", "two\nlines", "Use plain words on one line"),
    ("description", 'a "quoted" word', "Use plain words; no double quotes"),
    ("description", "x" * 201, "Keep it to 200 characters; it has 201"),
    ("backends", [], "Choose at least one back end"),
    ("dask_scheduler_address", "10.0.0.5:8786", "Type tcp://HOST:PORT"),
    ("dask_scheduler_address", "tcp://10.0.0.5:99999", "Use a port 1 to 65535"),
    ("ssh_hostname", "alice@login", "Type just the host name or alias; no user@"),
    ("ssh_hostname", "", "Pass --data ssh_hostname=HOST: it cannot be empty"),
    ("ssh_username", "a b", "Type a user name"),
    ("ssh_key_file", "-----BEGIN OPENSSH PRIVATE KEY-----", "Type the key file's path"),
    ("ssh_key_file", "~/.ssh/id rsa", "Type the key file's path"),
    # Found by Hypothesis: the plugins expand ~0 on import and fail ("no home directory").
    ("slurm_ssh_key_file", "~0", "Type the key file's path"),
    ("hpc_ssh_key_file", "~alice/.ssh/id_ed25519", "Type the key file's path"),
    ("ssh_python_path", "python3; rm -rf ~", "Type python3 or a path"),
    ("ssh_remote_workdir", "-rf", "Use letters, digits ._/~+-; no leading -"),
    ("slurm_address", "login:2222", "Type just the host name or alias"),
    ("slurm_options", "{partition: debug}", "Write --name=value, not {parti...; e.g."),
    ("slurm_options", "-p gpu", "Use long options, not -p; e.g. --partition=gpu"),
    ("slurm_options", "--partition=debug;rm", "Use letters, digits, _.,:=/@+%-; in the value"),
    ("slurm_options", "--Partition=gpu", "Use lowercase option names"),
    ("slurm_options", "--time=", "Give a value after the =; or write --time alone"),
    ("slurm_options", "--time=1:00 --time=2:00", "Give each option once; --time is there twice"),
    ("slurm_options", "--comment=" + "x" * 80, "Keep each option to 80 characters; --comment"),
    ("slurm_options", "--time=1\t--mem=4G", "Type the options on one line"),
    ("slurm_conda_env", "my env", "Use letters, digits, ._- only"),
    ("slurm_venv", "~/my venv", "Use letters, digits ._/~+-"),
    ("hpc_remote_python_exe", "python3", "Type an absolute path"),
    ("awsbatch_region", "mars-1", "Type an AWS region"),
    ("awsbatch_s3_bucket_name", "My_Bucket", "Use 3-63 of a-z 0-9 . -"),
    ("gcpbatch_project_id", "X", "Use 6-30 of a-z 0-9 -"),
    ("gcpbatch_service_account_email", "me@gmail.com", "Type the e-mail; NAME@PROJECT"),
    ("azurebatch_tenant_id", "tenant", "Type a GUID"),
    ("azurebatch_batch_account_url", "http://x.batch.azure.com", "Type the https URL"),
    ("azurebatch_storage_account_name", "Storage_1", "Use a-z and 0-9; 3 to 24"),
    ("ec2_instance_type", "large", "Type an instance type"),
    ("ec2_key_name", "", "Pass --data ec2_key_name=NAME: it cannot be empty"),
]
# Each message starts by saying what to do.
FIRST_WORDS = ("Type", "Use", "Choose", "Keep", "Give", "Write", "Pass")


def fits_the_toolbar(question: str, message: str) -> bool:
    """Whether what to type (the message up to its first "; ") shows whole at a prompt.

    Copier shows "Validation error for question 'NAME': " and the message on one toolbar
    line that an 80-column terminal cuts; the details after "; " may be cut there.
    """
    shown = f"Validation error for question '{question}': {message}"[:80]
    return shown.startswith(f"Validation error for question '{question}': ") and (
        message.split("; ")[0] in shown
    )


@pytest.mark.parametrize(("question", "value", "expected"), BAD_ANSWERS)
def test_bad_answer_is_refused_with_what_to_type_first_in_80_columns(
    template_files: Path, tmp_path: Path, question: str, value: object, expected: str
) -> None:
    backend = backend_of(question) or "local"
    answers = {"backends": [backend], question: value}
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copy_with(template_files, tmp_path, **answers)
    message = str(error.value).split(f"question '{question}': ", 1)[1]
    assert message.startswith(expected)
    assert message.split()[0] in FIRST_WORDS
    assert len(message) <= 80, f"{len(message)} columns: {message}"
    if not message.startswith("Pass --data"):  # that one only ever shows without a prompt
        assert fits_the_toolbar(question, message), message
    assert not (tmp_path / "project").exists(), "a refused answer must leave nothing behind"


def test_every_rule_says_what_to_type_in_80_columns_and_its_example_passes() -> None:
    for name, rule in RULES.items():
        assert rule["expect"].split()[0] in FIRST_WORDS, name
        assert len(rule["expect"]) <= 80, name
        assert re.fullmatch(rule["pattern"], rule["example"]), name


def test_what_to_type_shows_whole_at_the_prompt_of_every_question_with_a_rule() -> None:
    cut = [
        f"{question}: {RULES[rule]['expect']}"
        for question in QUESTIONS
        if (rule := rule_of(question)) and not fits_the_toolbar(question, RULES[rule]["expect"])
    ]
    assert cut == []


def test_every_help_fits_one_80_column_line_after_copiers_microphone() -> None:
    # Copier prints "🎤 " (three columns) before the help, and cuts the line at 80.
    too_long = {
        name: len(question["help"])
        for name, question in QUESTIONS.items()
        if len(question["help"]) > 77
    }
    assert too_long == {}


def test_refused_answer_leaves_an_existing_folder_as_it_was(
    template_files: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine\n")

    with pytest.raises(ValueError, match="question 'package_name'"):
        copy_with(template_files, tmp_path, package_name="class")

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
def baseline_shapes(template_files: Path, tmp_path_factory: pytest.TempPathFactory):
    """The code shape of a plain project per back end, rendered once each."""
    shapes: dict[str, dict[str, str]] = {}

    def shape_for(backend: str) -> dict[str, str]:
        if backend not in shapes:
            path = tmp_path_factory.mktemp(f"baseline-{backend}")
            shapes[backend] = code_shape(
                copy_with(template_files, path, backends=[backend], **FIXED)
            )
        return shapes[backend]

    return shape_for


FIXED = {"package_name": "pkg"}  # else project_name would rename the package


@pytest.mark.parametrize("question", FREE_TEXT)
def test_free_text_answer_is_refused_or_inert(
    template_files: Path, tmp_path: Path, baseline_shapes, question: str
) -> None:
    backend = backend_of(question) or "local"
    expected = baseline_shapes(backend)
    for number, payload in enumerate(INJECTIONS):
        try:
            project = copy_with(
                template_files,
                tmp_path / str(number),
                backends=[backend],
                **(FIXED | {question: payload}),
            )
        except ValueError:
            continue  # refused at the question: fine
        assert code_shape(project) == expected, f"{question}={payload!r} changed the code"
        for script in project.rglob("*.sh"):
            assert payload not in script.read_text(), f"{question}={payload!r} in {script}"
