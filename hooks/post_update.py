"""After `copier update`: fail where Copier's result is wrong, and say what changed.

Copier exits 0 in each of these cases, so this check turns them into a failed update
that says how to get out:

- conflict markers or .rej files left by the merge;
- a package folder renamed without setting `package_name` in the answers file: Copier
  puts new files in a re-created old folder and cannot reach the renamed one;
- a back end added to the answers file by hand: Copier renders the old and the new
  template with the same answers, sees no difference and generates nothing.

It also reports, without failing, files the update deleted that had the person's edits
(removing a back end deletes its files whatever is in them), named resources it removed
that the person's code still uses, instances executors.py now defines twice (a named
resource called like one written by hand: validators cannot see the code), and checks
of one executor copied from an earlier release's readiness module, which `check` no
longer needs.
Copier runs it inside the project after the merge (an unversioned migration, stage
"after").

Usage: post_update.py ANSWERS_FILE TEMPLATE_SRC_PATH
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import yaml  # Copier itself depends on PyYAML, so its Python always has it

MARKERS = ("<<<<<<< ", ">>>>>>> ")
UNDO = "  git reset --hard && git clean -fd"


def run_git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], capture_output=True, check=False)


def git(*args: str) -> str:
    return run_git(*args).stdout.decode(errors="replace")


def project_files() -> list[str]:
    """Tracked files and untracked ones git does not ignore."""
    listing = git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return [name for name in listing.split("\0") if name]


def conflicts() -> list[str]:
    """Files with conflict markers, unmerged files, and .rej files Copier left."""
    found = set(git("diff", "--name-only", "--relative", "--diff-filter=U").split())
    for name in project_files():
        path = Path(name)
        if name.endswith(".rej"):
            found.add(name)
            continue
        try:
            lines = path.read_text(errors="replace").splitlines()
        except (OSError, IsADirectoryError):
            continue
        if all(any(line.startswith(marker) for line in lines) for marker in MARKERS):
            found.add(name)
    return sorted(found)


def load_answers(text: str) -> dict[str, Any]:
    return yaml.safe_load(text) or {}


def fill(text: str) -> str:
    """Prose wrapped for an 80-column terminal; commands stay on lines of their own."""
    return textwrap.fill(text, width=80, break_long_words=False, break_on_hyphens=False)


def flow_list(names: list[str], separator: str = ",") -> str:
    """A YAML flow list, as --data and the answers file both accept: [local,slurm]."""
    return f"[{separator.join(names)}]"


def package_folder_missing(package: str, answers_file: str) -> str | None:
    """A message when the package folder the answers name was not in the last commit.

    That is the mark of a folder renamed without telling Copier: the update then writes
    to a re-created old folder and leaves the renamed one behind.
    """
    if run_git("cat-file", "-e", f"HEAD:./src/{package}/executors.py").returncode == 0:
        return None
    listing = git("ls-tree", "-r", "--name-only", "HEAD", "src")
    found = re.findall(r"^src/([^/]+)/executors\.py$", listing, flags=re.MULTILINE)
    looks = (
        f"The package now looks like {' or '.join(f'src/{name}/' for name in found)}."
        if found
        else "No src/*/executors.py was in the last commit either."
    )
    new = found[0] if len(found) == 1 else "NEW_NAME"
    return "\n".join(
        [
            fill(
                f"{answers_file} says package_name: {package}, but the last commit has no"
                f" src/{package}/: the package was renamed without telling Copier, so this"
                f" update wrote to the old folder. {looks} Undo the update, record the new"
                " name in a commit, and run the same update again:"
            ),
            UNDO,
            f"  # in {answers_file}, set `package_name: {new}`, then commit",
        ]
    )


def never_generated(backends: list[str], package: str) -> list[str]:
    """Back ends of which nothing exists: no executor, no workflow, no README section.

    Only "nothing at all" counts: people delete an example workflow or rename things,
    but a back end Copier generated always leaves something behind.
    """
    executors = Path("src", package, "executors.py")
    code = executors.read_text(errors="replace") if executors.is_file() else ""
    readme = Path("README.md")
    text = readme.read_text(errors="replace") if readme.is_file() else ""
    return [
        name
        for name in backends
        if not re.search(rf"^[ \t]*{re.escape(name)}[ \t]*=", code, flags=re.MULTILINE)
        and not Path("src", package, "workflows", f"{name}.py").exists()
        and not re.search(rf"^### {re.escape(name)}[ \t]*$", text, flags=re.MULTILINE)
    ]


def generated_backends() -> list[str] | None:
    """The back ends Copier really generated, from the project's tests/conftest.py.

    Copier keeps its GENERATED_BACKENDS in step with the answers it was given, and a
    hand-edited answers file leaves it as it was.
    """
    try:
        tree = ast.parse(Path("tests", "conftest.py").read_text())
        values = [
            node.value
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(getattr(target, "id", "") == "GENERATED_BACKENDS" for target in node.targets)
        ]
        return list(ast.literal_eval(values[0])) if values else None
    except (OSError, SyntaxError, ValueError):
        return None


def hand_edited_backends(missing: list[str], wanted: list[str], answers_file: str) -> str:
    generated = generated_backends() or [name for name in wanted if name not in missing]
    what = f"back end {missing[0]}" if len(missing) == 1 else f"back ends {', '.join(missing)}"
    return "\n".join(
        [
            fill(
                f"{answers_file} lists the {what}, but nothing of"
                f" {'it' if len(missing) == 1 else 'them'} was generated (no executor, no"
                " example workflow, no README section): the answers file was edited by"
                " hand, so Copier saw nothing to add. Undo the update, put `backends` back"
                " to what was generated in a commit, and let Copier add the rest:"
            ),
            UNDO,
            f"  # in {answers_file}, set `backends: {flow_list(generated, ', ')}`, then commit",
            "  copier update --trust --vcs-ref=:current: \\",
            f"    --data 'backends={flow_list(wanted)}'",
        ]
    )


def deleted_files() -> list[str]:
    """Files in the last commit that the update deleted (the tree was clean before)."""
    listing = git("diff", "--name-only", "--relative", "--diff-filter=D", "-z", "HEAD")
    return [name for name in listing.split("\0") if name]


def edited_among(deleted: list[str], answers: dict[str, Any], template: str) -> list[str]:
    """The deleted files whose last committed content is not what the template rendered.

    Renders the project's previous template version with its previous answers, the
    same base Copier's own merge uses, so an untouched file never counts as edited.
    """
    import copier  # slow to import, so only when the update deleted files

    with tempfile.TemporaryDirectory(prefix="copier-covalent-old.") as tmp:
        copier.run_copy(
            template,
            tmp,
            data={key: value for key, value in answers.items() if not key.startswith("_")},
            vcs_ref=answers["_commit"],
            defaults=True,
            quiet=True,
            skip_tasks=True,
            overwrite=True,
        )
        rendered = Path(tmp)
        return [
            name
            for name in deleted
            if not (rendered / name).is_file()
            or (rendered / name).read_bytes() != run_git("show", f"HEAD:./{name}").stdout
        ]


def report_deleted_edits(answers: dict[str, Any], template: str | None) -> None:
    """Name each deleted file that had edits, with the command that shows them."""
    deleted = deleted_files()
    if not deleted:
        return
    try:
        if template is None:
            raise RuntimeError("the template's path was not given")
        edited = edited_among(deleted, answers, template)
        intro = "The update deleted files that had your edits."
    except Exception as error:  # a report must never fail the update
        edited = deleted
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        intro = (
            "The update deleted these files; they may have had your edits (the previous"
            f" template version could not be rendered to compare: {reason})."
        )
    if edited:
        print(
            fill(
                f"{intro} Your versions are still in the last commit: before you commit,"
                " copy what you need from them:"
            )
        )
        for name in edited:
            print(f"  git show HEAD:./{name}")


def named_resources(answers: dict[str, Any]) -> list[str]:
    """The instances the `<backend>_resources` answers make, `<backend>_<NAME>` each."""
    found = []
    for backend in answers.get("backends", []):
        entries = str(answers.get(f"{backend}_resources") or "").split(";")
        found += [f"{backend}_{e.split(':')[0].strip()}" for e in entries if ":" in e]
    return found


def uses_of(names: list[str]) -> dict[str, list[str]]:
    """For each name, the lines of Python files that still mention it, as FILE:LINE."""
    found: dict[str, list[str]] = {name: [] for name in names}
    pattern = re.compile(rf"\b({'|'.join(map(re.escape, names))})\b")
    for name in project_files():
        if not name.endswith((".py", ".ipynb")):
            continue
        try:
            lines = Path(name).read_text(errors="replace").splitlines()
        except (OSError, IsADirectoryError):
            continue
        for number, line in enumerate(lines, start=1):
            for used in set(pattern.findall(line.partition("#")[0])):  # not in comments
                found[used].append(f"{name}:{number}")
    return {name: where for name, where in found.items() if where}


def report_removed_still_used(before: list[str], after: list[str]) -> None:
    removed = [name for name in before if name not in after]
    used = uses_of(removed) if removed else {}
    for name, where in used.items():
        print(
            fill(
                f"The update removed the named resource {name} from executors.py, but"
                " your code still uses it: point these lines at another instance, or"
                " give the entry back to the answer and update again:"
            ),
            file=sys.stderr,
        )
        for place in where:
            print(f"  {place}", file=sys.stderr)


def defined_twice(package: str) -> dict[str, list[int]]:
    """Names executors.py assigns more than once at the top, with their lines."""
    try:
        tree = ast.parse(Path("src", package, "executors.py").read_text())
    except (OSError, SyntaxError, ValueError):  # a conflict or an edit: said elsewhere
        return {}
    lines: dict[str, list[int]] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name):
                    lines.setdefault(target.id, []).append(node.lineno)
    return {name: where for name, where in lines.items() if len(where) > 1}


def report_defined_twice(package: str, generated: list[str]) -> None:
    for name, lines in defined_twice(package).items():
        if name not in generated:
            continue
        print(
            fill(
                f"src/{package}/executors.py now defines {name} twice (lines"
                f" {', '.join(map(str, lines))}): the update's and one of yours, and the"
                " last one wins. Rename yours and the code that uses it, or take"
                " the entry out of the answer and update again."
            ),
            file=sys.stderr,
        )


def old_readiness_copies(package: str, backends: list[str]) -> list[str]:
    """Modules in readiness/ of the form earlier releases told people to copy for an
    executor of their own (`executor = executors.NAME`, `async def check()` without an
    argument). `check` now checks every executor by its class and passes over them."""
    found = []
    for path in sorted(Path("src", package, "readiness").glob("*.py")):
        if path.stem.startswith("_") or path.stem in backends:
            continue
        try:
            tree = ast.parse(path.read_text())
        except (OSError, SyntaxError, ValueError):
            continue
        names = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        old_check = any(
            isinstance(node, ast.AsyncFunctionDef) and node.name == "check" and not node.args.args
            for node in tree.body
        )
        if old_check and "EXECUTOR" not in names:
            found.append(path.as_posix())
    return found


def report_old_readiness_copies(package: str, backends: list[str]) -> None:
    copies = old_readiness_copies(package, backends)
    if copies:
        print(
            fill(
                "`check` and `setup` now cover every executor in executors.py by its class,"
                " yours included, and no longer use these copies of a generated check:"
                " delete them (a check for a class of your own is described in"
                f" src/{package}/readiness/__init__.py):"
            )
        )
        print(f"  git rm {' '.join(copies)}")


def main(answers_file: str, template: str | None = None) -> int:
    before = load_answers(git("show", f"HEAD:./{answers_file}"))
    after = load_answers(Path(answers_file).read_text())
    package = str(after.get("package_name", ""))

    problem = package_folder_missing(str(before.get("package_name", package)), answers_file)
    if problem is None:
        missing = never_generated(list(after.get("backends", [])), package)
        if missing:
            problem = hand_edited_backends(missing, list(after["backends"]), answers_file)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 1

    old, new = list(before.get("backends", [])), list(after.get("backends", []))
    added = [b for b in new if b not in old]
    removed = [b for b in old if b not in new]
    changes = [
        f"{verb} {', '.join(names)}"
        for verb, names in (("added", added), ("removed", removed))
        if names
    ]
    if changes:
        print(f"Back ends {'; '.join(changes)}. Now: {', '.join(new)}.")
    else:
        print(f"Back ends unchanged: {', '.join(new)}.")
    old_named, new_named = named_resources(before), named_resources(after)
    named_changes = [
        f"{verb} {', '.join(names)}"
        for verb, names in (
            ("added", [n for n in new_named if n not in old_named]),
            ("removed", [n for n in old_named if n not in new_named]),
        )
        if names
    ]
    if named_changes:
        print(f"Named resources {'; '.join(named_changes)}.")

    report_deleted_edits(before, template)
    report_removed_still_used(old_named, new_named)
    report_defined_twice(package, new + new_named)
    report_old_readiness_copies(package, new)

    left = conflicts()
    if left:
        print("copier update left conflicts in:", file=sys.stderr)
        for name in left:
            print(f"  {name}", file=sys.stderr)
        print(
            "Resolve each (look for <<<<<<< or read the .rej file), delete the .rej files,\n"
            "run the tests, then commit. `git diff` shows what the update changed.",
            file=sys.stderr,
        )
        return 1
    print("No conflicts. Review with `git diff`, run the tests, then commit.")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
