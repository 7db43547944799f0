"""`corscheck merge`: the JSON reports of sharded runs joined into one."""

from typing import Annotated

import typer

from corscheck.commands.edge import exit_code, the_edge
from corscheck.commands.options import (
    OUTPUT,
    ColorOption,
    DetailOption,
    FailOnOverrideOption,
    FormatOption,
    OutputOption,
    check_format,
)


def merge(
    reports: Annotated[
        list[str],
        typer.Argument(
            help="JSON reports of the shards.", metavar="REPORT.json…", show_default=False
        ),
    ],
    output: OutputOption = None,
    detail: DetailOption = "compact",
    fmt: FormatOption = "console",
    fail_on: FailOnOverrideOption = None,
    colored: ColorOption = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q",
            "--quiet",
            help="Accepted as audit accepts it; merge prints only the report (and a --prove note).",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
) -> None:
    """Join the JSON reports of sharded runs into one report (any format); exit code as audit."""
    from dataclasses import replace

    from corscheck.deliver import Delivery, deliver
    from corscheck.merge import merge_reports
    from corscheck.report.outputs import check_outputs

    with the_edge():
        check_format(fmt)
        check_outputs(output or [])
        merged = merge_reports(reports)
        if fail_on is not None:
            merged = replace(merged, fail_on=fail_on)
        merged = deliver(
            merged,
            Delivery(
                fmt=fmt,
                outputs=list(output or []),
                colored=colored,
                quiet=quiet,
                detail=detail,  # type: ignore[arg-type]  # checked by one_of
            ),
        )
    raise typer.Exit(exit_code(merged))
