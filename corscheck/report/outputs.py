"""Where a rendered report goes: stdout (coloured and as wide as the terminal), the -o files, the
JSON streamed as targets finish, and GitHub's annotations and step summary."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from corscheck.errors import UsageError

if TYPE_CHECKING:
    from corscheck.report.codec import Detail
    from corscheck.report.model import Report, ReportSink


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


def rendered(report: Report, fmt: str, detail: Detail = "compact") -> str:
    """`report` in a file format; a JSON report as compact or as full as asked."""
    if fmt == "json":
        from corscheck.report import json

        return json.render(report, detail)
    from corscheck.report import renderer

    return renderer(fmt)(report)


def wrapped(line: str, indent: str = "           ") -> str:
    """A long `corscheck: …` line folded to the console's width, its continuation indented."""
    return textwrap.fill(line, width(), subsequent_indent=indent, break_on_hyphens=False)


def check_outputs(outputs: Sequence[str]) -> dict[str, str]:
    """Each -o path and its format (from its extension), before anything runs: a path whose folder
    does not exist is a usage error now, not after a whole audit whose report it would lose."""
    from corscheck.report import format_for_path

    formats = {path: format_for_path(path) for path in outputs}
    for path in formats:
        folder = Path(path).parent
        if not folder.is_dir():
            raise UsageError(f"cannot write {path!r}: there is no folder {str(folder)!r}")
    return formats


def write_outputs(report: Report, outputs: list[str], detail: Detail = "compact") -> None:
    from corscheck.report import format_for_path

    texts = [(path, rendered(report, format_for_path(path), detail)) for path in outputs]
    for path, text in texts:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


@contextmanager
def json_streams(
    to_stdout: bool, paths: list[str], target_count: int, detail: Detail = "compact"
) -> Iterator[list[ReportSink]]:
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
            streams.append(JsonStream(handle, indent=indent, detail=detail))
        if to_stdout:
            streams.append(JsonStream(sys.stdout, indent=indent, detail=detail))
        yield streams
    for partial, path in partials:
        try:
            partial.replace(path)
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


def print_report(
    report: Report,
    fmt: str,
    verbose: bool,
    colored: bool | None = None,
    detail: Detail = "compact",
) -> None:
    if fmt == "console":
        from corscheck.report import console

        text = console.render(report, color=color(colored), verbose=verbose, width=width())
        typer.echo(text, nl=False, color=color(colored))
    else:
        typer.echo(rendered(report, fmt, detail), nl=False)


def github_extras(report: Report, annotate: bool) -> None:
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
