"""After `copier copy`: make the new project a git repository with a first commit.

`copier update` only works on a git repository whose answers file is committed, so
doing this now means the first update later just works. Copier runs this script inside
the new project. It never fails the copy: when git cannot commit, it says how to.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

FIRST_COMMIT_MESSAGE = "Start project from copier-covalent"


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def main() -> int:
    project = Path.cwd()
    if shutil.which("git") is None:
        print(f"git is not installed: {project} is not a git repository yet, and")
        print("`copier update` will need one (git init && git add -A && git commit).")
        return 0

    inside = git("rev-parse", "--show-toplevel")
    # Inside another repository the files belong there, unless it ignores this folder.
    if inside.returncode == 0 and git("check-ignore", "--quiet", str(project)).returncode != 0:
        print(f"{project} is inside the git repository {inside.stdout.strip()}:")
        print("commit the new files there before you run `copier update`.")
        return 0

    git("init", "--quiet")
    git("add", "--all")
    commit = git("commit", "--quiet", "--message", FIRST_COMMIT_MESSAGE)
    if commit.returncode != 0:
        reason = (commit.stderr.strip() or "git commit failed").splitlines()[0]
        print(f"Made {project} a git repository, but could not commit:\n  {reason}")
        print("Set your identity and make the first commit by hand (`copier update` needs it):")
        print('  git config --global user.name "Your Name"')
        print('  git config --global user.email "you@example.org"')
        print(f'  cd {project} && git commit -m "{FIRST_COMMIT_MESSAGE}"')
        return 0

    print(f"Made {project} a git repository with a first commit, ready for `copier update`.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
