"""copier.yml: choices, registry and snippets agree; bad answers are refused clearly."""

from __future__ import annotations

import keyword
import sys
from pathlib import Path

import copier
import pytest
from conftest import BACKENDS, CONFIG, REGISTRY, REPO, answers_for

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
    reserved = set(CONFIG["reserved_package_names"]["default"])
    stdlib = {name for name in sys.stdlib_module_names if not name.startswith("_")}
    lowercase_keywords = {word for word in keyword.kwlist if word.islower()}
    assert stdlib | lowercase_keywords | {"covalent"} <= reserved


def copy_with(tmp_path: Path, **answers: object) -> Path:
    destination = tmp_path / "project"
    copier.run_copy(
        str(REPO),
        destination,
        data=answers_for(answers.pop("backends", ["local"]), **answers),  # type: ignore[arg-type]
        defaults=True,
        vcs_ref="HEAD",
        quiet=True,
        skip_tasks=True,  # the answers are what is under test, not the hooks
    )
    return destination


@pytest.mark.parametrize(
    ("question", "value", "expected"),
    [
        ("package_name", "class", "is a Python keyword or would shadow"),
        ("package_name", "json", "would shadow"),
        ("package_name", "covalent", "would shadow"),
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
    tmp_path: Path, question: str, value: object, expected: str
) -> None:
    answers = {question: value} if question != "backends" else {"backends": value}
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copy_with(tmp_path, **answers)
    assert expected in str(error.value)
    assert not (tmp_path / "project").exists(), "a refused answer must leave nothing behind"


@pytest.mark.parametrize(
    ("question", "value", "expected"),
    [
        ("dask_scheduler_address", "10.0.0.5:8786", "expected tcp://HOST:PORT"),
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
    tmp_path: Path, question: str, value: str, expected: str
) -> None:
    backend = next(b for b in REGISTRY if question.startswith(f"{b}_"))
    with pytest.raises(ValueError, match=f"question '{question}'") as error:
        copy_with(tmp_path, backends=[backend], **{question: value})
    assert expected in str(error.value)
    assert not (tmp_path / "project").exists()
