"""``python -m grader``: release, validate, grade, judge, publish, demo, bench, bench-course, dist,
normalize, check."""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

from . import SOLUTIONS_DIR, assignment_ids
from .course import Course
from .execute import Limits


def _add_limits(parser: argparse.ArgumentParser) -> None:
    d = Limits()
    parser.add_argument("--cell-timeout", type=float, default=d.cell_timeout, metavar="S",
                        help=f"seconds one cell may run (default {d.cell_timeout:g})")
    parser.add_argument("--notebook-timeout", type=float, default=d.notebook_timeout,
                        metavar="S", help=f"seconds a whole notebook may run "
                                          f"(default {d.notebook_timeout:g})")
    parser.add_argument("--memory-mb", type=int, default=d.memory_mb, metavar="MB",
                        help=f"memory cap of a sandboxed kernel (default {d.memory_mb})")
    parser.add_argument("--processes", type=int, default=d.processes, metavar="N",
                        help=f"process cap of a sandboxed kernel (default {d.processes})")


def _limits(args) -> Limits:
    return Limits(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                  memory_mb=args.memory_mb, processes=args.processes)


def _grading_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", "-j", default="auto",
                        help="parallel workers (default: all cores)")
    parser.add_argument("--sandbox", choices=("auto", "on", "off"), default="auto",
                        help="run kernels in bubblewrap: auto (when available, with a loud "
                             "warning otherwise), on (required), off")
    parser.add_argument("--fresh-kernels", action="store_true",
                        help="start every sandboxed kernel as a new interpreter instead of "
                             "forking it from a template that did the imports once (same "
                             "isolation and grades; several times the CPU)")
    parser.add_argument("--no-progress", action="store_true", help="no progress output")
    parser.add_argument("--run-experiments", action="store_true",
                        help="also run the experiment cells (slower; they earn no points)")
    parser.add_argument("--salt", default="",
                        help="salt of the hidden tests' seeds (default: a fresh random one per "
                             "run, recorded in gradebook.json; give it to reproduce a run)")
    _add_limits(parser)


def _jobs(value: str) -> int | None:
    if value in ("auto", "", None):
        return None
    jobs = int(value)
    if jobs < 1:
        raise SystemExit("--jobs must be at least 1")
    return jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="regenerate notebooks/ from solutions/ with nbgrader")
    p.add_argument("aids", nargs="*", help="assignment ids (default: all)")

    p = sub.add_parser("validate", help="run a notebook; exit 1 when a test fails")
    p.add_argument("path", type=Path)
    p.add_argument("--cell-timeout", type=float, default=120)

    p = sub.add_parser("grade", help="autograde a folder or LMS zip of submissions "
                                     "(run, judge, publish)")
    p.add_argument("submissions", type=Path)
    p.add_argument("--out", type=Path, default=Path("grading-output"))
    p.add_argument("--assignment", help="grade only this assignment id")
    p.add_argument("--lms", default="auto", choices=("auto", "folder", "canvas", "moodle"),
                   help="the layout of the submissions (default: recognised)")
    p.add_argument("--gradebook", metavar="URL",
                   help="also write the scores into this nbgrader gradebook (e.g. "
                        "sqlite:///gradebook.db) for formgrader")
    p.add_argument("--roster", type=Path, metavar="CSV",
                   help="the class list as the LMS exports it (Canvas gradebook, Moodle grading "
                        "worksheet or participants, or id,name): every student gets a row")
    p.add_argument("--no-diagnose", action="store_true",
                   help="do not compare failures with the catalogue's known mistakes")
    p.add_argument("--force", action="store_true",
                   help="grade every submission again, even those unchanged since OUT was "
                        "graded (by default only changed ones run again)")
    p.add_argument("--cluster", metavar="ADDRESS",
                   help="run the notebooks on this dask.distributed scheduler's workers "
                        "(e.g. tcp://10.0.0.5:8786); judging and publishing stay here")
    _grading_args(p)

    p = sub.add_parser("judge", help="judge a graded folder's stored runs again, then publish "
                                     "(no notebook runs)")
    p.add_argument("out", type=Path)
    p.add_argument("--no-diagnose", action="store_true",
                   help="do not compare failures with the catalogue's known mistakes")

    p = sub.add_parser("publish", help="render a graded folder's files again from its results")
    p.add_argument("out", type=Path)

    p = sub.add_parser("demo", help="grade the bundled sample submissions")
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--assignment", action="append", help="only these assignments")
    _grading_args(p)

    p = sub.add_parser("bench", help="grading throughput figures")
    p.add_argument("--submissions", type=int, default=20)
    p.add_argument("--assignment", default="00_inputs")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--cluster-submissions", type=int, default=200, metavar="N",
                   help="synthetic submissions graded through a local dask cluster and with "
                        "--jobs (default 200; 0 skips it)")

    p = sub.add_parser("bench-course", help="run every solution notebook and print its time")
    p.add_argument("aids", nargs="*", help="assignment ids (default: all)")

    p = sub.add_parser("dist", help="write the student edition (no solutions, no grader)")
    p.add_argument("out", type=Path, help="the folder to write (e.g. student-edition)")
    p.add_argument("--force", action="store_true",
                   help="replace what a previous build wrote in OUT (nothing else)")

    sub.add_parser("normalize", help="clear outputs and fix metadata of solutions/ in place")

    p = sub.add_parser("check", help="grade the reference and every catalogue entry in process "
                                     "(seconds) and check each against its promise")
    p.add_argument("aids", nargs="*", help="assignment ids (default: all)")
    p.add_argument("--experiments", action="store_true",
                   help="also run every experiment with each alternative-correct entry")

    parser.add_argument("--verbose", "-v", action="count", default=0,
                        help="log what the grader does (-v), and more (-vv)")
    args = parser.parse_args(argv)
    logging.basicConfig(level={0: logging.WARNING, 1: logging.INFO}.get(args.verbose,
                                                                      logging.DEBUG),
                        format="%(levelname)s %(name)s: %(message)s")
    return COMMANDS[args.command](args)


def cmd_release(args) -> int:
    from .release import ReleaseError, release

    unknown = set(args.aids) - set(assignment_ids())
    if unknown:
        print(f"unknown assignment(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    try:
        for path in release(args.aids or None):
            print(f"released {path.relative_to(path.parents[2])}")
    except ReleaseError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


def cmd_validate(args) -> int:
    from .validate import validate

    return validate(args.path, Limits(cell_timeout=args.cell_timeout, notebook_timeout=3600))


def _run_grading(submissions: Path, out: Path, args, assignment=None) -> int:
    from .batch import GradingCannotRun, grade_batch, print_summary
    from .grade import Options

    options = Options(limits=_limits(args), sandbox=args.sandbox,
                      diagnose=not getattr(args, "no_diagnose", False),
                      run_experiments=args.run_experiments, salt=args.salt,
                      fork_kernels=not args.fresh_kernels)
    try:
        results = grade_batch(submissions, out, jobs=_jobs(args.jobs), assignment=assignment,
                              options=options, progress=not args.no_progress,
                              lms=getattr(args, "lms", "auto"),
                              roster=getattr(args, "roster", None),
                              force=getattr(args, "force", False),
                              cluster=getattr(args, "cluster", None))
    except GradingCannotRun as exc:
        print(f"grading could not run: {exc}", file=sys.stderr)
        return 2
    print_summary(results, out)
    if getattr(args, "gradebook", None):
        from .gradebook import GradebookError, write_to_gradebook

        try:
            count = write_to_gradebook(args.gradebook, results, Course())
        except GradebookError as exc:
            print(f"the nbgrader gradebook was not written: {exc}", file=sys.stderr)
            return 4
        print(f"Wrote {count} submission(s) into the nbgrader gradebook {args.gradebook}.")
    return _environment_status(results)


def _environment_status(results) -> int:
    """3 when no kernel could run at all (the grading machine is broken), else 0."""
    from .run import ENVIRONMENT_PREFIX

    broken = [r for r in results if r.reason.startswith(ENVIRONMENT_PREFIX)]
    ran = [r for r in results if r.status in ("graded", "partly graded")]
    if broken and not ran:
        print(f"\nNO KERNEL COULD RUN: {len(broken)} submission(s) were not graded because of "
              f"the grading machine ({broken[0].reason}).", file=sys.stderr)
        return 3
    if broken:
        print(f"\nWARNING: {len(broken)} submission(s) were not graded because of the grading "
              "machine; see report.html.", file=sys.stderr)
    return 0


def cmd_judge(args) -> int:
    from .batch import GradingCannotRun, judge_folder, print_summary

    try:
        results = judge_folder(args.out, diagnose=False if args.no_diagnose else None)
    except GradingCannotRun as exc:
        print(f"judging could not run: {exc}", file=sys.stderr)
        return 2
    print_summary(results, args.out)
    return 0


def cmd_publish(args) -> int:
    from .batch import GradingCannotRun, print_summary, publish_folder

    try:
        results = publish_folder(args.out)
    except GradingCannotRun as exc:
        print(f"publishing could not run: {exc}", file=sys.stderr)
        return 2
    print_summary(results, args.out)
    return 0


def cmd_grade(args) -> int:
    if not args.submissions.exists():
        print(f"grading could not run: {args.submissions} does not exist", file=sys.stderr)
        return 2
    return _run_grading(args.submissions, args.out, args, args.assignment)


def cmd_demo(args) -> int:
    from .samples import demo_submissions

    aids = args.assignment or assignment_ids()
    with tempfile.TemporaryDirectory(prefix="demo-submissions-") as tmp:
        demo_submissions(Path(tmp), aids)
        print(f"Grading sample submissions (reference, blank, partly wrong) of "
              f"{', '.join(aids)}:")
        return _run_grading(Path(tmp), args.out, args)


def cmd_bench(args) -> int:
    from .bench import bench

    return bench(args.assignment, args.submissions, args.jobs, args.cluster_submissions)


def cmd_bench_course(args) -> int:
    from .bench_course import bench_course

    unknown = set(args.aids) - set(assignment_ids())
    if unknown:
        print(f"unknown assignment(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    return bench_course(args.aids or None)


def cmd_dist(args) -> int:
    from .dist import DistError, build

    try:
        files = build(args.out, force=args.force)
    except DistError as exc:
        print(f"dist: {exc}", file=sys.stderr)
        return 1
    print(f"wrote the student edition to {args.out}: {len(files)} files (notebooks/, "
          f"helpers/dltrain/, README.md, pyproject.toml, environment.yml, Makefile); "
          f"scanned: no solution, hidden test, catalogue or grader")
    return 0


def cmd_normalize(args) -> int:
    from .notebooks import KERNELSPEC, blank_notebook_like, read_notebook, write_notebook

    for aid in assignment_ids():
        path = SOLUTIONS_DIR / aid / f"{aid}.ipynb"
        nb = blank_notebook_like(read_notebook(path))
        nb.metadata = {"kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}}
        write_notebook(nb, path)
        print(f"normalized {path.relative_to(SOLUTIONS_DIR.parent)}")
    return 0


def cmd_check(args) -> int:
    from .check import check_assignment, print_checks

    unknown = set(args.aids) - set(assignment_ids())
    if unknown:
        print(f"unknown assignment(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    bad = 0
    for aid in args.aids or assignment_ids():
        bad += print_checks(aid, check_assignment(aid, experiments=args.experiments))
    return 1 if bad else 0


COMMANDS = {"release": cmd_release, "validate": cmd_validate, "grade": cmd_grade,
            "judge": cmd_judge, "publish": cmd_publish, "demo": cmd_demo, "bench": cmd_bench,
            "bench-course": cmd_bench_course, "dist": cmd_dist, "normalize": cmd_normalize,
            "check": cmd_check}

if __name__ == "__main__":
    sys.exit(main())
