"""The command line: build, serve, new, import, check.

Exit status: 0 done, 1 the content or configuration is wrong (every problem
printed as path:line: message), 2 the command line is wrong.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path
from typing import Sequence, TextIO

from . import __version__
from .errors import ContentError, Problem
from .model import PAGE_CODE

COMMANDS = ("build", "serve", "new", "import", "check")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-01-21") from None


def _page(text: str) -> str:
    code = text.strip().upper()
    if not PAGE_CODE.match(code):
        raise argparse.ArgumentTypeError(f"{text!r} is not a page code like A01")
    return code


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: --jobs takes a whole number (0: every core)")
    return value


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="banmian", description="版面: build a bilingual newspaper edition.")
    top.add_argument("--version", action="version", version=f"banmian {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")

    def source_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--source", type=Path, default=Path("."), help="the newspaper folder (default: here)")

    build = commands.add_parser("build", help="build the site (the default command)")
    source_option(build)
    build.add_argument("--output", type=Path, help="where to write the site (default: <source>/site)")
    build.add_argument("--drafts", action="store_true", help="publish articles marked draft: true")
    build.add_argument("--base-url", help="override base_url of newspaper.toml")
    build.add_argument("--jobs", type=_jobs, default=0, help="processes to build with, this one included (default: every core)")
    build.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    build.add_argument("--no-cache", action="store_true", help="ignore and do not write the build cache")
    build.add_argument("--timings", action="store_true", help="print the seconds each stage took")

    serve = commands.add_parser("serve", help="build, serve and rebuild on every save")
    source_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    serve.add_argument("--no-drafts", action="store_true", help="hide drafts, as the published site does")
    serve.add_argument("--output", type=Path, help="where to build (default: a temporary folder)")

    new = commands.add_parser("new", help="start a new article file")
    source_option(new)
    new.add_argument("--date", type=_date, required=True)
    new.add_argument("--page", type=_page, required=True)
    new.add_argument("--title", required=True)
    new.add_argument("--reporter", action="append", default=[], help="may be given several times")
    new.add_argument("--kicker", default="")
    new.add_argument("--subtitle", default="")

    imp = commands.add_parser("import", help="turn a typeset page's text into articles")
    imp.add_argument("raw", type=Path, metavar="RAW.txt")
    source_option(imp)
    imp.add_argument("--date", type=_date, required=True)
    imp.add_argument("--page", type=_page, required=True)
    imp.add_argument("--dry-run", action="store_true", help="print the articles instead of writing them")
    imp.add_argument("--encoding", help="the text's encoding (default: UTF-8 or GB18030, detected)")
    imp.add_argument("--force", action="store_true", help="replace existing files of the same name")

    check = commands.add_parser("check", help="validate content and configuration, write nothing")
    source_option(check)
    check.add_argument("--drafts", action="store_true")
    check.add_argument("--links", action="store_true", help="also build into a temporary folder and check every link")
    return top


def run() -> None:
    """The `banmian` command: main(), then exit without tearing down the heap.

    A build of a large archive holds hundreds of thousands of objects; freeing
    them one by one at exit costs a noticeable part of a small rebuild, and
    the process is over anyway (files are closed, output flushed first).
    """
    from . import keep_bytecode

    keep_bytecode()  # before the pipeline's modules are imported
    code = main(exiting=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def main(argv: Sequence[str] | None = None, *, exiting: bool = False) -> int:
    """exiting: the process exits right after (the `banmian` command), so a
    build may leave its cache to a finisher (BuildOptions.detach)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `python build.py` and `python build.py --source X` mean build.
    if not args_list or (args_list[0] not in COMMANDS and args_list[0] not in ("-h", "--help", "--version")):
        args_list.insert(0, "build")
    args = parser().parse_args(args_list)
    try:
        if args.command == "build":
            return run_build(args, detach=exiting)
        if args.command == "serve":
            from .serve import run_serve

            return run_serve(args)
        if args.command == "new":
            return run_new(args)
        if args.command == "import":
            from .importer import run_import

            return run_import(
                args.raw,
                args.date,
                args.page,
                args.source,
                dry_run=args.dry_run,
                encoding=args.encoding,
                force=args.force,
                out=sys.stdout,
                err=sys.stderr,
            )
        if args.command == "check":
            return run_check(args)
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
        return 130
    return 2


def report(problems: Sequence[Problem], stream: TextIO | None = None) -> None:
    for problem in problems:
        print(problem, file=stream or sys.stderr)  # sys.stderr as it is now, not at import


class ProgressBar:
    """A one-line bar on a terminal, shown only for builds that take a while."""

    def __init__(self, stream: TextIO, enabled: bool, delay: float = 2.0) -> None:
        self.stream = stream
        self.enabled = enabled
        self.started = time.perf_counter()
        self.delay = delay
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or time.perf_counter() - self.started < self.delay:
            return
        width = 30
        filled = int(width * done / total) if total else width
        self.stream.write(f"\r{stage:<9} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 60 + "\r")
            self.stream.flush()


def run_build(args: argparse.Namespace, detach: bool = False) -> int:
    # No cycle collection in a one-shot build (its workers inherit that): a
    # build makes almost no garbage cycles, its peak memory is the same
    # without it, and the passes over its growing heap cost ~0.8 s of CPU
    # across the processes of a 5,000-article cold build.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run_build(args, detach)
    finally:
        if collecting:
            gc.enable()


def _run_build(args: argparse.Namespace, detach: bool) -> int:
    source = args.source.resolve()
    output = (args.output or args.source / "site").resolve()
    started = time.perf_counter()
    inputs = None
    if not args.no_cache:
        # Before the pipeline is imported: a site already up to date is all
        # a no-change rebuild has to find out.
        from .uptodate import read_inputs, up_to_date

        inputs = read_inputs(source, output, (args.drafts, args.base_url))
        stamp = up_to_date(source, output, inputs.digest)
        if stamp is not None:
            seconds = time.perf_counter() - started
            report(stamp.warnings)
            if args.timings:
                print(f"  {'up to date':<18} {seconds:7.2f} s", file=sys.stderr)
            if not args.quiet:
                print(summary(stamp.articles, 0, stamp.files, seconds, output), file=sys.stderr)
            return 0

    from .pipeline import BuildOptions, build

    options = BuildOptions(
        source=source,
        output=output,
        drafts=args.drafts,
        base_url=args.base_url,
        jobs=args.jobs,
        use_cache=not args.no_cache,
        detach=detach,
    )
    bar = ProgressBar(sys.stderr, enabled=sys.stderr.isatty() and not args.quiet)
    try:
        result = build(options, progress=bar, articles=inputs.articles if inputs is not None else None)
    except ContentError as error:
        bar.close()
        report(error.problems)
        count = sum(1 for p in error.problems if p.severity == "error")
        print(f"build failed: {count} problem(s); the previous site was left as it was", file=sys.stderr)
        return 1
    bar.close()
    if inputs is not None and result.published is not None:
        from .uptodate import save_stamp

        save_stamp(source, inputs.digest, result.published, result.articles, result.written + result.unchanged, result.warnings)
    report(result.warnings)
    if args.timings:
        for stage, seconds in result.stages:
            print(f"  {stage:<18} {seconds:7.2f} s", file=sys.stderr)
    if not args.quiet:
        print(summary(result.articles, result.written, result.unchanged, result.seconds, result.output), file=sys.stderr)
    return 0


def summary(articles: int, written: int, unchanged: int, seconds: float, output: Path) -> str:
    return f"built {articles} articles: {written} files written, {unchanged} unchanged, in {seconds:.2f} s → {output}"


def run_check(args: argparse.Namespace) -> int:
    from .pipeline import BuildOptions, check

    problems = check(BuildOptions(source=args.source, output=args.source / "site", drafts=args.drafts))
    if args.links and not any(p.severity == "error" for p in problems):
        from .links import check_links_of_build

        problems.extend(check_links_of_build(args.source, drafts=args.drafts))
    report(problems)
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    print(f"checked: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
    return 1 if errors else 0


def run_new(args: argparse.Namespace) -> int:
    from .scaffold import new_article

    try:
        path = new_article(
            args.source,
            date=args.date,
            page=args.page,
            title=args.title,
            reporters=args.reporter,
            kicker=args.kicker,
            subtitle=args.subtitle,
        )
    except FileExistsError as exc:
        print(f"{exc.filename}: already exists; choose another title or edit that file", file=sys.stderr)
        return 1
    print(path)
    return 0
