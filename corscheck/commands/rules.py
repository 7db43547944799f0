"""`corscheck rules`: the rule catalog, or one rule explained."""

from typing import Annotated

import typer

from corscheck.commands.edge import fail
from corscheck.commands.options import ColorOption
from corscheck.report.outputs import color, width


def rules(
    rule: Annotated[
        str | None,
        typer.Argument(help="A rule id to explain.", metavar="RULE", show_default=False),
    ] = None,
    colored: ColorOption = None,
) -> None:
    """List the rule catalog, or explain one rule."""
    from corscheck.report.console import render_rule, render_rules
    from corscheck.rules import CATALOG, RULES_BY_ID, unknown_rule_hint

    use_color = color(colored)
    if rule is None:
        typer.echo(render_rules(CATALOG, color=use_color, width=width()), nl=False, color=use_color)
        return
    if rule not in RULES_BY_ID:
        fail(f"no rule {rule!r}", hint=unknown_rule_hint(rule))
    text = render_rule(RULES_BY_ID[rule], color=use_color, width=width())
    typer.echo(text, nl=False, color=use_color)
