"""How long `copier copy` takes with this template, against Copier's own floor.

A plain script, not a test: it prints numbers and asserts nothing.

    .venv/bin/python tests/bench_copy.py                # CLI, 9 runs of each case
    .venv/bin/python tests/bench_copy.py --mode api     # copier.run_copy in-process
    .venv/bin/python tests/bench_copy.py --render-to /tmp/out   # /tmp/out/{default,all}
    .venv/bin/python tests/bench_copy.py --against HEAD~1       # also default@HEAD~1, ...

Cases, each run the same way (`--defaults --skip-tasks --quiet`, answers in a data file):
  floor    a one-file template generated here (copier.yml `{}` and one README.md.jinja)
  default  this template with its default answers
  all      this template with every back end (tests/questionnaire.py answers_for)

The template's working tree is first copied without .git (tests/support.py
copy_working_tree), so Copier renders files and never clones. --skip-tasks: the
post-copy git hook is not timed. COPIER_SETTINGS_PATH points at a file holding `{}`.

--mode cli (default) times one `copier copy` process each, as a person runs it: the
interpreter's start and Copier's imports count. --mode api times copier.run_copy in this
process after one warm-up copy of each case: only Copier's work for the template counts.
Wall-clock medians are the measure; the CPU columns (user+sys of this process and the
processes it waited for, Copier's git calls included) move far less when other programs
load the machine, so compare those when the wall clock is noisy.
Runs of the cases are interleaved, so load from other processes spreads over all of them;
--against REV adds the default and all cases of a committed revision (git archive, with
today's answers) to the same interleaving, the fair way to time a change on a busy machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # questionnaire beside it, support at the root
from questionnaire import BACKENDS, DEFAULT_BACKENDS, answers_for  # noqa: E402

from support import REPO, copy_working_tree  # noqa: E402

CASES = ("floor", "default", "all")


def make_floor(path: Path) -> Path:
    """Copier's floor: a template with no questions and one file."""
    path.mkdir(parents=True)
    (path / "copier.yml").write_text("{}\n")
    (path / "README.md.jinja").write_text("# {{ _folder_name }}\n")
    return path


def copier_command() -> list[str]:
    script = Path(sys.executable).parent / "copier"
    return [str(script)] if script.exists() else [sys.executable, "-m", "copier"]


def cpu_seconds() -> float:
    """User and system CPU time of this process and of the children it waited for."""
    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def export_revision(rev: str, destination: Path) -> Path:
    """The template's files at a git revision, without .git (as copy_working_tree)."""
    destination.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", rev], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive, check=True)
    return destination


def copier_version() -> str:
    import importlib.metadata

    return importlib.metadata.version("copier")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed runs of each case")
    parser.add_argument("--mode", choices=("cli", "api"), default="cli")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated subset")
    parser.add_argument("--against", metavar="REV", help="also time this git revision")
    parser.add_argument(
        "--render-to", type=Path, help="only copy the default and all cases into DIR/<case>"
    )
    args = parser.parse_args()
    cases = [c for c in args.cases.split(",") if c]

    with tempfile.TemporaryDirectory(prefix="bench-copy-") as tmp_name:
        tmp = Path(tmp_name)
        settings = tmp / "settings.yml"
        settings.write_text("{}\n")
        os.environ["COPIER_SETTINGS_PATH"] = str(settings)
        template = copy_working_tree(tmp / "template")
        sources = {"floor": make_floor(tmp / "floor"), "default": template, "all": template}
        data = {
            "floor": {},
            "default": answers_for(DEFAULT_BACKENDS),
            "all": answers_for(BACKENDS),
        }
        if args.against:
            other = export_revision(args.against, tmp / "against")
            for case in ("default", "all"):
                if case in cases:
                    sources[f"{case}@{args.against}"] = other
                    data[f"{case}@{args.against}"] = data[case]
                    cases.append(f"{case}@{args.against}")
        data_files = {}
        for case, answers in data.items():
            data_files[case] = tmp / f"{case}.yml"
            data_files[case].write_text(yaml.safe_dump(answers))

        def cli(case: str, dst: Path) -> None:
            subprocess.run(
                [
                    *copier_command(),
                    "copy",
                    "--quiet",
                    "--defaults",
                    "--skip-tasks",
                    "--data-file",
                    str(data_files[case]),
                    str(sources[case]),
                    str(dst),
                ],
                check=True,
            )

        def api(case: str, dst: Path) -> None:
            import copier

            copier.run_copy(
                str(sources[case]),
                dst,
                data=data[case],
                defaults=True,
                quiet=True,
                skip_tasks=True,
            )

        copy: Callable[[str, Path], Any] = cli if args.mode == "cli" else api

        if args.render_to:
            for case in ("default", "all"):
                copy(case, args.render_to / case)
            print(f"rendered the default and all cases into {args.render_to}")
            return 0

        how = "the CLI, one process per copy" if args.mode == "cli" else "run_copy in-process"
        print(f"copier {copier_version()} via {how}")
        print("--skip-tasks: the post-copy git hook is not timed")
        print(f"{args.runs} timed runs per case, interleaved; all = {len(BACKENDS)} back ends")
        times: dict[str, list[float]] = {case: [] for case in cases}
        cpu: dict[str, list[float]] = {case: [] for case in cases}
        counter = 0
        for run in range(args.runs + (1 if args.mode == "api" else 0)):
            for case in cases:
                counter += 1
                dst = tmp / f"out-{counter}"
                cpu_start = cpu_seconds()
                start = time.perf_counter()
                copy(case, dst)
                elapsed = time.perf_counter() - start
                cpu_used = cpu_seconds() - cpu_start
                shutil.rmtree(dst)
                if args.mode == "api" and run == 0:
                    continue  # warm-up: imports and first compilations
                times[case].append(elapsed)
                cpu[case].append(cpu_used)

        floor = statistics.median(times["floor"]) if "floor" in times else None
        floor_cpu = statistics.median(cpu["floor"]) if "floor" in cpu else None
        width = max(8, *map(len, cases))
        print(f"{'':{width}} {'wall clock, s':-^35}  {'CPU, s':-^17}")
        print(
            f"{'case':{width}} {'median':>8} {'min':>8} {'max':>8} {'x floor':>8}"
            f"  {'median':>8} {'x floor':>8}"
        )
        for case in cases:
            median = statistics.median(times[case])
            ratio = f"{median / floor:8.2f}" if floor else f"{'':8}"
            low, high = min(times[case]), max(times[case])
            cpu_median = statistics.median(cpu[case])
            cpu_ratio = f"{cpu_median / floor_cpu:8.2f}" if floor_cpu else f"{'':8}"
            print(
                f"{case:{width}} {median:8.3f} {low:8.3f} {high:8.3f} {ratio}"
                f"  {cpu_median:8.3f} {cpu_ratio}"
            )
        if floor:
            for case in cases:
                if case != "floor":
                    extra = statistics.median(times[case]) - floor
                    print(f"{case} - floor: {extra:+.3f} s (template's share, medians)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
