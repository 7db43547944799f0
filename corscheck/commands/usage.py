"""How the command line explains itself: help grouped into panels with named metavars, and usage
errors in corscheck's own style — `corscheck: error: …` on one line, an optional hint line, exit 2 —
in place of click's `Usage/Try/Error` block."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

import typer
from typer import Abort
from typer.core import TyperCommand, TyperGroup

from corscheck.commands.edge import EXIT_USAGE, error_lines

if TYPE_CHECKING:
    # The types mypy checks against: typer 0.26+ vendors click as typer._click.
    from typer import _click as click

# click's exceptions, wherever this typer keeps them (its own vendored copy from 0.26, the click
# package before): found through typer's public BadParameter, so no private module is imported.
_click_errors: Any = sys.modules[typer.BadParameter.__module__]


_DEFAULT_PANEL = "Options"


def did_you_mean(word: str, choices: Sequence[str]) -> str | None:
    """'did you mean X?' for the choices closest to a mistyped word, or None."""
    close = get_close_matches(word, choices, n=2, cutoff=0.6)
    if not close:
        return None
    return "did you mean " + " or ".join(repr(c) for c in close) + "?"


class Command(TyperCommand):
    """A command whose help groups options into panels (their `rich_help_panel`) and names each
    argument by its metavar in the usage line."""

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and param.metavar:
                pieces.append(param.metavar if param.required else f"[{param.metavar}]")
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        arguments: list[tuple[str, str]] = []
        panels: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append(record)
            else:
                panel = getattr(param, "rich_help_panel", None) or _DEFAULT_PANEL
                panels.setdefault(panel, []).append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        # The general options (and -h) last, after the command's own panels.
        general = panels.pop(_DEFAULT_PANEL, [])
        for name, records in [*panels.items(), (_DEFAULT_PANEL, general)]:
            if records:
                with formatter.section(name):
                    formatter.write_dl(records)


class Group(TyperGroup):
    """The `corscheck` group: usage errors become one `corscheck: error:` line and a hint."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else ""
        if args and self.get_command(ctx, name) is None and not name.startswith("-"):
            raise _Unknown(f"no command {name!r}", did_you_mean(name, self.list_commands(ctx)))
        return super().resolve_command(ctx, args)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except _NoArgsIsHelp as error:
            error.show()
            sys.exit(error.exit_code)
        except _click_errors.ClickException as error:
            typer.echo(error_lines(*_describe(error)), err=True)
            sys.exit(EXIT_USAGE)
        except Abort:
            typer.echo("corscheck: error: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


# click 8.2+ raises this for a command run without arguments; older clicks exit after the help.
_NoArgsIsHelp: Any = getattr(_click_errors, "NoArgsIsHelpError", type("_Never", (Exception,), {}))


class _Unknown(_click_errors.UsageError):  # type: ignore[misc]
    def __init__(self, message: str, hint: str | None) -> None:
        super().__init__(message)
        self.hint = hint


def _describe(error: click.ClickException) -> tuple[str, str | None]:
    """The one-line message of a click error, and a hint."""
    ctx = getattr(error, "ctx", None)
    command = f"'{ctx.command_path} -h'" if ctx is not None else "'corscheck -h'"
    if ctx is not None and ctx.command_path.split()[0] != "corscheck":
        command = "'corscheck " + " ".join([*ctx.command_path.split()[1:], "-h"]) + "'"
    if isinstance(error, _Unknown):
        return error.message, error.hint or "'corscheck -h' lists the commands"
    if isinstance(error, _click_errors.NoSuchOption):
        names: list[str] = []
        if ctx is not None:
            for param in ctx.command.get_params(ctx):
                names += [*param.opts, *param.secondary_opts]
        hint = did_you_mean(error.option_name, [n for n in names if n.startswith("--")])
        return f"no option {error.option_name}", hint or f"{command} lists the options"
    # typer before 0.22 with some clicks names an environment variable no option of ours reads.
    message = error.format_message().strip().replace(" (env var: 'None')", "")
    if message[:1].isupper() and not message[1:2].isupper():
        message = message[0].lower() + message[1:]
    return message.removesuffix("."), f"{command} for help"
