"""`corscheck rules`: the rule catalog, or one rule explained."""

from typing import Annotated

import typer

from corscheck.commands.edge import color, fail, width


def rules(
    rule: Annotated[
        str | None, typer.Argument(help="A rule id to explain.", show_default=False)
    ] = None,
) -> None:
    """List the rule catalog, or explain one rule."""
    from corscheck.report.console import render_rule, render_rules
    from corscheck.rules import CATALOG, RULES_BY_ID

    if rule is None:
        typer.echo(render_rules(CATALOG, color=color(), width=width()), nl=False)
        return
    if rule not in RULES_BY_ID:
        fail(f"no rule {rule!r}; run 'corscheck rules' for the list")
    typer.echo(render_rule(RULES_BY_ID[rule], color=color(), width=width()), nl=False)
