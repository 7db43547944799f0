"""Where a command meets the user: exit codes, the one-line error, and the one error ladder.

Only this layer exits; the library raises CorscheckError and returns values.
"""

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer

from corscheck.errors import CorscheckError, TargetError

if TYPE_CHECKING:
    from corscheck.report.model import Report

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT
EXIT_BROKEN_PIPE = 141  # stdout closed early, as shells report a SIGPIPE


def internal_error_line(error: BaseException) -> str:
    """The one line a bug shows instead of a traceback."""
    return (
        f"corscheck: internal error: {type(error).__name__}: {error} "
        "(set CORSCHECK_DEBUG=1 for details and please report it)"
    )


def internal_error(error: Exception) -> NoReturn:
    """A bug: one line that asks for CORSCHECK_DEBUG=1, or the traceback when it is set."""
    if os.environ.get("CORSCHECK_DEBUG"):
        raise error
    typer.echo(internal_error_line(error), err=True)
    raise typer.Exit(EXIT_USAGE)


@contextmanager
def the_edge(interrupted: Callable[[], str] = lambda: "interrupted") -> Iterator[None]:
    """The one error ladder of every command: a CorscheckError is its one line and exit code; Ctrl-C
    is `interrupted()` and 130; a closed stdout ends quietly with 141; typer's own exits pass; any
    other exception is a bug's one line (internal_error)."""
    try:
        yield
    except CorscheckError as error:
        fail_with(error)
    except KeyboardInterrupt:
        fail(interrupted(), EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of stdout left (`| head`): stop quietly, as a tool killed by SIGPIPE does, and
        # keep Python's exit-time flush from failing on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        internal_error(error)


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


def exit_code(report: "Report") -> int:
    if any(e.kind == "input" for t in report.targets for e in t.errors):
        return EXIT_USAGE
    if report.reaches(report.fail_on):
        return EXIT_FINDINGS
    # A partial report (a merged .partial file) did not audit every target: never a clean exit.
    return EXIT_TARGET if report.error_count or report.partial else EXIT_OK
