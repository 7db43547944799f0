"""The command line: the typer app and its commands, one module each under corscheck/commands/.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage, policy-file or
input error; 3 a target could not be audited (and no finding reached the threshold).
"""

import os
import sys
from typing import Annotated

import typer

from corscheck import __version__
from corscheck.commands import audit, demo, init, merge, probe, prove, rules
from corscheck.commands.edge import EXIT_USAGE, internal_error_line
from corscheck.commands.usage import Command, Group

app = typer.Typer(
    name="corscheck",
    cls=Group,
    help="Audit an API's CORS behaviour exactly as Chromium judges it, against the policy you meant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"corscheck {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """corscheck: what a browser lets other origins do with your API, and is that what you meant."""


# Each command's line in `corscheck --help`, whole: click would cut its docstring at 45 characters.
app.command(
    cls=Command, short_help="Audit URLs as browsers would; report findings.", epilog=audit.EPILOG
)(audit.audit)
app.command(
    cls=Command,
    short_help="One fetch() from a page on ORIGIN: allowed or blocked?",
    epilog=probe.EPILOG,
)(probe.probe)
app.command(cls=Command, short_help="Audit the bundled misconfigured demo API (no network).")(
    demo.demo
)
app.command(cls=Command, short_help="Write a policy file: a template, or learned from a URL.")(
    init.init
)
app.command(cls=Command, short_help="Replay a report's findings in headless Chromium.")(prove.prove)
app.command(cls=Command, short_help="Join the JSON reports of sharded runs into one.")(merge.merge)
app.command(cls=Command, short_help="List the rule catalog, or explain one rule.")(rules.rules)


def main() -> None:
    """The console script. A bug must not greet the user with a traceback either: one line, exit 2,
    and CORSCHECK_DEBUG=1 shows the traceback for a bug report."""
    try:
        app()
    except Exception as error:
        if os.environ.get("CORSCHECK_DEBUG"):
            raise
        typer.echo(internal_error_line(error), err=True)
        sys.exit(EXIT_USAGE)
