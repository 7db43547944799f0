"""Where a command meets the user: exit codes, the one-line error, colour and width, writing reports.

Only this layer prints or exits; the library raises CorscheckError and returns values.
"""

import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer

from corscheck.errors import CorscheckError, TargetError, UsageError

if TYPE_CHECKING:
    from corscheck.report.model import Report, ReportSink

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT
EXIT_BROKEN_PIPE = 141  # stdout closed early, as shells report a SIGPIPE


def internal_error(error: Exception) -> NoReturn:
    """A bug: one line that asks for CORSCHECK_DEBUG=1, or the traceback when it is set."""
    if os.environ.get("CORSCHECK_DEBUG"):
        raise error
    typer.echo(
        f"corscheck: internal error: {type(error).__name__}: {error} "
        "(set CORSCHECK_DEBUG=1 for details and please report it)",
        err=True,
    )
    raise typer.Exit(EXIT_USAGE)


def error_lines(message: str, hint: str | None = None) -> str:
    """The text of an error: `corscheck: error: …` a line per problem, and a hint line."""
    from corscheck.masking import mask_userinfo

    # Whatever raised it, an error line never shows a URL's userinfo (a proxy's password, say).
    lines = [f"corscheck: error: {mask_userinfo(line)}" for line in message.splitlines() or [""]]
    if hint:
        lines.append(f"corscheck: hint: {mask_userinfo(hint)}")
    return "\n".join(lines)


def fail(message: str, code: int = EXIT_USAGE, hint: str | None = None) -> NoReturn:
    typer.echo(error_lines(message, hint), err=True)
    raise typer.Exit(code)


def fail_with(error: CorscheckError) -> NoReturn:
    """The error as its exit code says: 3 for a target that could not be reached, else 2."""
    fail(str(error), EXIT_TARGET if isinstance(error, TargetError) else EXIT_USAGE, error.hint)


def color(choice: bool | None = None) -> bool:
    """--color/--no-color when given; else colour on a terminal unless NO_COLOR is set."""
    if choice is not None:
        return choice
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def width() -> int:
    """The console report's width: the terminal's, 80 to 140 columns; piped, COLUMNS when it is set
    (at least 40), else 100."""
    try:
        return max(80, min(os.get_terminal_size().columns, 140))
    except OSError:
        pass
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return max(40, min(int(columns), 1000))
    return 100


def exit_code(report: "Report") -> int:
    if any(e.kind == "input" for t in report.targets for e in t.errors):
        return EXIT_USAGE
    if report.reaches(report.fail_on):
        return EXIT_FINDINGS
    # A partial report (a merged .partial file) did not audit every target: never a clean exit.
    return EXIT_TARGET if report.error_count or report.partial else EXIT_OK


def write_outputs(report: "Report", outputs: list[str]) -> None:
    from corscheck.report import format_for_path, renderer

    rendered = []
    for path in outputs:
        rendered.append((path, renderer(format_for_path(path))(report)))
    for path, text in rendered:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


@contextmanager
def json_streams(
    to_stdout: bool, paths: list[str], target_count: int
) -> "Iterator[list[ReportSink]]":
    """The run's JSON reports, written as its targets finish: to stdout for --format json and to each
    -o *.json path. A file is written as PATH.partial and renamed when complete, so an interrupted
    run leaves its partial report under a name that says so, never a truncated PATH."""
    from corscheck.report.json import JsonStream, indented

    indent = indented(target_count)
    streams: list[ReportSink] = []
    partials: list[tuple[Path, str]] = []
    with ExitStack() as files:
        for path in paths:
            partial = Path(path + ".partial")
            try:
                handle = files.enter_context(partial.open("w", encoding="utf-8"))
            except OSError as error:
                raise UsageError(f"cannot write {path!r}: {error.strerror}") from None
            partials.append((partial, path))
            streams.append(JsonStream(handle, indent=indent))
        if to_stdout:
            streams.append(JsonStream(sys.stdout, indent=indent))
        yield streams
    for partial, path in partials:
        try:
            partial.replace(path)
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


def print_report(report: "Report", fmt: str, verbose: bool, colored: bool | None = None) -> None:
    if fmt == "console":
        from corscheck.report import console

        text = console.render(report, color=color(colored), verbose=verbose, width=width())
        typer.echo(text, nl=False, color=color(colored))
    else:
        from corscheck.report import renderer

        typer.echo(renderer(fmt)(report), nl=False)


def github_extras(report: "Report", annotate: bool) -> None:
    """In GitHub Actions: annotations beside the console report, and the step summary in Markdown."""
    if os.environ.get("GITHUB_ACTIONS") == "true" and annotate:
        from corscheck.report import github

        typer.echo(github.render(report), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from corscheck.report import markdown

        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown.render(report))
        except OSError as error:
            typer.echo(
                f"corscheck: warning: cannot append to GITHUB_STEP_SUMMARY: {error}", err=True
            )
