"""`corscheck merge`: the JSON reports of sharded runs joined into one."""

from typing import Annotated

import typer

from corscheck.commands.edge import exit_code, fail, github_extras, print_report, write_outputs
from corscheck.commands.options import FailOn
from corscheck.errors import CorscheckError


def merge(
    reports: Annotated[
        list[str], typer.Argument(help="JSON reports of the shards.", show_default=False)
    ],
    output: Annotated[
        list[str] | None,
        typer.Option("-o", "--output", help="Write the merged report; format from the extension."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="stdout format, as for audit.")
    ] = "console",
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Override the shards' threshold.")
    ] = None,
) -> None:
    """Join the JSON reports of sharded runs into one report (any format); exit code as audit."""
    from dataclasses import replace

    from corscheck.merge import merge_reports

    try:
        merged = merge_reports(reports)
        if fail_on is not None:
            merged = replace(merged, fail_on=fail_on.value)
        write_outputs(merged, list(output or []))
        print_report(merged, fmt, verbose=False)
        github_extras(merged, annotate=fmt == "console")
    except CorscheckError as error:
        fail(str(error))
    raise typer.Exit(exit_code(merged))
