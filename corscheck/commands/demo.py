"""`corscheck demo`: the bundled, deliberately misconfigured API, audited on a loopback port."""

import textwrap
from typing import Annotated

import typer

from corscheck.commands.edge import EXIT_TARGET, the_edge
from corscheck.commands.options import (
    OUTPUT,
    PROOF,
    BrowserPathOption,
    ColorOption,
    DetailOption,
    FormatOption,
    OutputOption,
    PocOption,
    QuietOption,
    check_format,
)
from corscheck.report.outputs import width, wrapped


def demo(
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="Show the request count and the probe grid.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    fmt: FormatOption = "console",
    output: OutputOption = None,
    detail: DetailOption = "compact",
    quiet: QuietOption = False,
    colored: ColorOption = None,
    prove: Annotated[
        bool,
        typer.Option(
            "--prove",
            help="Replay each finding in headless Chromium, as audit --prove does.",
            rich_help_panel=PROOF,
        ),
    ] = False,
    browser_path: BrowserPathOption = None,
    poc: PocOption = None,
) -> None:
    """Audit the bundled, deliberately misconfigured demo API on a loopback port (no network needed).

    Exits 0 when the audit ran (the findings are the point of the demo), 3 if a demo route could
    not be audited, 2 on a usage error.
    """
    from corscheck.audit import announcement, run_audit
    from corscheck.deliver import Delivery, deliver, settings_for
    from corscheck.demo import demo_config, serve_demo
    from corscheck.errors import UsageError
    from corscheck.prove.chromium import find_browser
    from corscheck.report.outputs import check_outputs

    with the_edge():
        check_format(fmt)
        check_outputs(output or [])  # before the demo starts: a bad -o is a usage error
        if browser_path is not None and not prove:
            raise UsageError("--browser-path is the browser of --prove: add --prove")
        executable = find_browser(browser_path) if prove else None
        with serve_demo() as base:
            config = demo_config(base)
            if fmt == "console" and not quiet:
                policy = config.policy
                assert policy is not None
                intro = (
                    f"Demo: a deliberately misconfigured API on {base}, audited against the "
                    f"policy it was meant to follow: origins {', '.join(policy.origins)}; "
                    f"methods {', '.join(policy.methods or ('GET',))}; "
                    f"headers {', '.join(policy.headers or ())}; "
                    f"credentials {'yes' if policy.credentials else 'no'}; "
                    f"expose {', '.join(policy.expose)}.\n"
                    "Each route makes one classic mistake; /api/status is the one done right."
                )
                paragraphs = [textwrap.fill(part, width()) for part in intro.split("\n")]
                typer.echo("\n".join(paragraphs) + "\n")
            if verbose and not quiet:
                typer.echo(wrapped(announcement(config)), err=True)
            report = run_audit(config)
            # The proofs need the demo API up: they replay against it.
            proving = settings_for(config, executable) if executable is not None else None
            delivery = Delivery(
                fmt=fmt,
                outputs=list(output or []),
                verbose=verbose,
                colored=colored,
                quiet=quiet,
                annotate=False,
                proving=proving,
                poc=poc,
                detail=detail,  # type: ignore[arg-type]  # checked by one_of
            )
            report = deliver(report, delivery)
    if report.error_count:
        raise typer.Exit(EXIT_TARGET)
