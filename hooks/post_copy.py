"""After `copier copy`: make sure the new project can be updated, or say what to do.

`copier update` only works on a git repository whose answers file is committed, so
doing this now means the first update later just works. Copier runs this script inside
the new project. What is right depends on where the project landed:

- a new folder (or one the surrounding repository ignores): its own repository, with a
  first commit;
- a folder that already is a repository root without commits (`git init` first): the
  first commit there;
- a repository root with commits: nothing, because the new files sit among the person's
  own work and they should review them before committing;
- inside another repository that does not ignore it: nothing, the files belong there.

It never fails the copy: when git is missing or cannot commit, it says how to do it.
Every line fits an 80-column terminal, except for the paths on lines of their own.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIRST_COMMIT_MESSAGE = "Start project from copier-covalent"
COMMIT = f'git commit -m "{FIRST_COMMIT_MESSAGE}"'
READY = "It is ready for `copier update`."


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def first_commit(project: Path, done: str) -> int:
    """Commit everything in the project; `done` says it worked."""
    git("add", "--all")
    commit = git("commit", "--quiet", "--message", FIRST_COMMIT_MESSAGE)
    if commit.returncode != 0:
        reason = (commit.stderr.strip() or "git commit failed").splitlines()[0]
        print("git could not make the project's first commit:")
        print(f"  {reason[:76]}")
        print("Set your identity, then commit by hand (`copier update` needs a commit):")
        print('  git config --global user.name "Your Name"')
        print('  git config --global user.email "you@example.org"')
        print(f"  cd {project}")
        print(f"  {COMMIT}")
        return 0
    print(done)
    return 0


def main() -> int:
    project = Path.cwd()
    if shutil.which("git") is None:
        print("git is not installed, so the project is not a git repository yet, and")
        print("`copier update` will need one. Install git, then in the project folder:")
        print(f"  git init && git add -A && {COMMIT}")
        return 0

    toplevel = git("rev-parse", "--show-toplevel")
    if toplevel.returncode == 0:
        root = Path(toplevel.stdout.strip())
        if root.resolve() == project.resolve():
            if git("rev-parse", "--verify", "--quiet", "HEAD").returncode != 0:
                done = "Made the first commit in the project's git repository.\n" + READY
                return first_commit(project, done)
            # The person's own repository: their work is there, so they review first.
            print("The project folder already had commits, so nothing was committed: review the")
            print("new files and commit them (git add -A && git commit) before `copier update`.")
            return 0
        # Inside another repository the files belong there, unless it ignores this folder.
        if git("check-ignore", "--quiet", str(project)).returncode != 0:
            print("The project is inside the git repository at")
            print(f"  {root}")
            print("so commit the new files there before you run `copier update`.")
            return 0
        done = (
            "Made the project a git repository of its own, with a first commit: the git\n"
            f"repository of the folder around it leaves it out.\n{READY}"
        )
    else:
        done = "Made the project a git repository with a first commit.\n" + READY

    git("init", "--quiet")
    return first_commit(project, done)


if __name__ == "__main__":
    sys.exit(main())
