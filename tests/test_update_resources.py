"""`copier update` adds, changes and removes named resources in edited projects.

A named resource is one entry of a `<backend>_resources` answer, an instance of its own
in executors.py. The owner has edited the project the usual way (tests/projects.py's
user edits) and inside executors.py's blocks; the update must keep all of it, and where
it cannot (a changed resource whose block the owner edited, a removed one still in use,
a name the owner took already) the post-update check must say so, naming the file.
"""

from __future__ import annotations

from pathlib import Path

from projects import (
    SRC,
    apply_edits,
    check_edits_kept,
    cli_update,
    commit_all,
    conflict_leftovers,
    data_args,
    executor_instances,
    generate,
    run_project_tests,
    tree_differences,
)

BACKENDS = ["local", "slurm"]
GPU = "gpu: --partition=gpu --gres=gpu:1"
BIGMEM = "bigmem: --partition=bigmem --mem=500G"
BOTH = f"{GPU}; {BIGMEM}"
# Edits inside executors.py's blocks: the back end's own, and each named resource's.
OWN_BLOCK = ("slurm = ct.executor.SlurmExecutor(\n", "slurm = ct.executor.SlurmExecutor(  # ours\n")
BIGMEM_BLOCK = ('"mem": "500G",', '"mem": "480G",  # what a node has free')
GPU_BLOCK = ('"gres": "gpu:1",', '"gres": "gpu:a100:1",')


def edited(template: Path, tmp_path: Path, resources: str, *blocks: tuple[str, str]) -> Path:
    """A local and Slurm project with these named resources, edited and committed."""
    project = generate(template, tmp_path / "project", BACKENDS, slurm_resources=resources)
    edit(project, *blocks)
    commit_all(project, "My edits")
    return project


def edit(project: Path, *blocks: tuple[str, str]) -> None:
    apply_edits(project, BACKENDS)
    executors = project / SRC / "executors.py"
    text = executors.read_text()
    for old, new in blocks:
        assert text.count(old) == 1, f"edit anchor {old!r} not found once"
        text = text.replace(old, new)
    executors.write_text(text)


def same_as_fresh(template: Path, tmp_path: Path, project: Path, resources: str, *blocks) -> None:
    """The update's tree is a fresh copy with the same answers and the same edits."""
    fresh = generate(template, tmp_path / "fresh", BACKENDS, slurm_resources=resources)
    edit(fresh, *blocks)
    assert tree_differences(project, fresh) == []


def instances(project: Path) -> list[str]:
    return [name for name, _ in executor_instances((project / SRC / "executors.py").read_text())]


def test_update_adds_named_resources_and_keeps_user_edits(
    template_clone: Path, tmp_path: Path, install_project
) -> None:
    project = edited(template_clone, tmp_path, "", OWN_BLOCK)

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=BOTH))

    assert run.returncode == 0, run.stderr
    assert "Named resources added slurm_gpu, slurm_bigmem.\n" in run.stdout
    assert conflict_leftovers(project) == []
    check_edits_kept(project, BACKENDS)
    assert instances(project)[:4] == ["local", "slurm", "slurm_gpu", "slurm_bigmem"]
    same_as_fresh(template_clone, tmp_path, project, BOTH, OWN_BLOCK)
    run_project_tests(install_project, project)


def test_update_removes_a_named_resource_and_keeps_edits_in_the_others(
    template_clone: Path, tmp_path: Path
) -> None:
    project = edited(template_clone, tmp_path, BOTH, OWN_BLOCK, BIGMEM_BLOCK)

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=BIGMEM))

    assert run.returncode == 0, run.stderr
    assert "Named resources removed slurm_gpu.\n" in run.stdout
    assert "still uses" not in run.stderr
    assert conflict_leftovers(project) == []
    assert "slurm_gpu" not in instances(project)
    same_as_fresh(template_clone, tmp_path, project, BIGMEM, OWN_BLOCK, BIGMEM_BLOCK)


def test_update_changes_a_named_resource_and_keeps_edits_in_the_others(
    template_clone: Path, tmp_path: Path
) -> None:
    project = edited(template_clone, tmp_path, BOTH, BIGMEM_BLOCK)
    changed = f"gpu: --partition=gpu --gres=gpu:2; {BIGMEM}"

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=changed))

    assert run.returncode == 0, run.stderr
    assert "Named resources" not in run.stdout  # the same names
    assert conflict_leftovers(project) == []
    same_as_fresh(template_clone, tmp_path, project, changed, BIGMEM_BLOCK)
    assert '"gres": "gpu:2",' in (project / SRC / "executors.py").read_text()


def test_update_changing_a_resource_whose_block_was_edited_fails_naming_the_file(
    template_clone: Path, tmp_path: Path
) -> None:
    project = edited(template_clone, tmp_path, BOTH, GPU_BLOCK)

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=BOTH.replace("gpu:1", "gpu:2")))

    assert run.returncode != 0
    assert f"copier update left conflicts in:\n  {SRC}/executors.py\n" in run.stderr
    assert "Resolve each (look for <<<<<<< or read the .rej file)" in run.stderr
    text = (project / SRC / "executors.py").read_text()
    assert '"gres": "gpu:a100:1",' in text and '"gres": "gpu:2",' in text  # both sides


def test_update_removing_a_resource_still_in_use_names_the_lines_that_use_it(
    template_clone: Path, tmp_path: Path
) -> None:
    project = generate(template_clone, tmp_path / "project", BACKENDS, slurm_resources=BOTH)
    apply_edits(project, BACKENDS)
    analysis = project / SRC / "workflows" / "analysis.py"
    analysis.write_text(analysis.read_text() + "\nON_THE_GPUS = executors.slurm_gpu\n")
    commit_all(project, "Analysis on the GPUs")
    line = analysis.read_text().splitlines().index("ON_THE_GPUS = executors.slurm_gpu") + 1

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=BIGMEM))

    assert run.returncode == 0, run.stderr
    assert "The update removed the named resource slurm_gpu from executors.py, but" in run.stderr
    assert f"\n  {SRC}/workflows/analysis.py:{line}\n" in run.stderr
    assert "slurm_gpu" not in instances(project)


def test_update_adding_a_resource_named_like_one_of_the_owners_says_so(
    template_clone: Path, tmp_path: Path
) -> None:
    project = generate(template_clone, tmp_path / "project", BACKENDS)
    executors = project / SRC / "executors.py"
    own = '\nslurm_gpu = ct.executor.SlurmExecutor(address="gpu-login", options={"gpus": "1"})\n'
    executors.write_text(executors.read_text() + own)
    commit_all(project, "Our GPU cluster")

    run = cli_update(project, *data_args(BACKENDS, slurm_resources=GPU))

    assert run.returncode == 0, run.stderr
    assert f"{SRC}/executors.py now defines slurm_gpu twice (lines " in run.stderr
    assert instances(project).count("slurm_gpu") == 2
