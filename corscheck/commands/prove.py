"""`corscheck prove REPORT.json`, and what `audit --prove` and `--poc` share with it: the findings of a
report replayed in headless Chromium, and the proof-of-concept pages written."""

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corscheck.commands.edge import (
    EXIT_INTERRUPTED,
    exit_code,
    fail,
    fail_with,
    github_extras,
    internal_error,
    print_report,
    write_outputs,
)
from corscheck.commands.options import (
    PROOF,
    REQUESTS,
    BrowserPathOption,
    ColorOption,
    CookieOption,
    FailOnOverrideOption,
    FormatOption,
    InsecureOption,
    NoProxyOption,
    OutputOption,
    PocOption,
    ProxyOption,
    QuietOption,
    TimeoutOption,
    check_format,
    checked_proxy,
    parse_header,
)
from corscheck.config import DEFAULTS
from corscheck.errors import CorscheckError, UsageError
from corscheck.wording import plural

if TYPE_CHECKING:
    from corscheck.config import AuditConfig
    from corscheck.prove.run import ProveSettings
    from corscheck.report.model import Report


def settings_for(config: "AuditConfig", executable: str) -> "ProveSettings":
    """The proof settings of an audit run: its visitor, safety gate, TLS, proxy, -H and targets,
    with their real values (the report holds masked ones)."""
    from corscheck.masking import secrets_in
    from corscheck.prove.run import ProveSettings
    from corscheck.proxy import proxy_routes

    options = config.options
    return ProveSettings(
        executable=executable,
        visitor=config.visitor,
        send_unsafe=options.send_unsafe,
        insecure=options.insecure,
        timeout=options.timeout,
        proxy=proxy_routes(options.proxy, use_environment=options.trust_env, environ=os.environ),
        extra_headers=config.extra_headers,
        real_urls=tuple(t.url for t in config.targets),
        secrets=secrets_in(
            (t.url for t in config.targets), config.extra_headers, config.visitor.secrets()
        ),
    )


def proven(report: "Report", settings: "ProveSettings", *, quiet: bool) -> "Report":
    """`report` with a proof on each finding, secrets masked as the audit masked them."""
    from corscheck.masking import masked
    from corscheck.prove.run import prove_report
    from corscheck.report.model import may_hold_userinfo

    count = len(report.findings())
    if not quiet and count:
        typer.echo(f"corscheck: proving {plural(count, 'finding')} in headless Chromium…", err=True)
    result = prove_report(report, settings)
    return replace(
        result,
        targets=tuple(
            masked(t, settings.secrets, userinfo=may_hold_userinfo(t)) for t in result.targets
        ),
    )


def write_pocs(report: "Report", directory: str) -> None:
    """The PoC pages of `report`'s over-permissive findings, one file each, into `directory`."""
    from corscheck.prove.poc import poc_pages

    pages = poc_pages(report)
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for poc in pages:
            (folder / poc.name).write_text(poc.html, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write the PoC pages into {directory!r}: {error.strerror}"
        ) from None


def prove(
    report_path: Annotated[
        str,
        typer.Argument(help="A JSON report of corscheck audit.", metavar="REPORT.json"),
    ],
    browser_path: BrowserPathOption = None,
    poc: PocOption = None,
    cookie: CookieOption = None,
    header: Annotated[
        list[str] | None,
        typer.Option(
            "-H",
            "--header",
            metavar="'NAME: VALUE'",
            help="Send it with every replayed request, as the audit did (repeat); the report "
            "holds it masked.",
            rich_help_panel=REQUESTS,
        ),
    ] = None,
    send_unsafe: Annotated[
        bool,
        typer.Option(
            "--send-unsafe",
            help="Replay findings whose request is unsafe (POST, PUT, …) too.",
            rich_help_panel=PROOF,
        ),
    ] = False,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    fmt: FormatOption = "console",
    output: OutputOption = None,
    fail_on: FailOnOverrideOption = None,
    colored: ColorOption = None,
    quiet: QuietOption = False,
) -> None:
    """Replay the findings of an earlier report in headless Chromium and attach the proofs.

    The report's secrets are masked: give --cookie and -H again to replay with the real ones.
    """
    from corscheck.masking import secrets_in
    from corscheck.merge import merge_reports
    from corscheck.prove.chromium import find_browser
    from corscheck.prove.run import ProveSettings
    from corscheck.proxy import proxy_routes
    from corscheck.visitor import parse_cookie, visitor_of

    try:
        check_format(fmt)
        proxy, trust_env = checked_proxy(proxy, no_proxy)
        executable = find_browser(browser_path)
        report = merge_reports([report_path])
        if fail_on is not None:
            report = replace(report, fail_on=fail_on)
        cookies = tuple(parse_cookie(c) for c in cookie or [])
        if report.visitor is not None and report.visitor.cookies_given and not cookies:
            names = ", ".join(c.name for c in report.visitor.cookies)
            raise UsageError(
                f"the report's visitor held {names} (values masked in the report): give them "
                "again with --cookie so that the proofs send them"
            )
        profiles = report.visitor.profiles if report.visitor else ()
        extra_headers = tuple(parse_header(h) for h in header or [])
        settings = ProveSettings(
            executable=executable,
            visitor=visitor_of(cookies, profiles),
            send_unsafe=send_unsafe,
            insecure=insecure,
            timeout=timeout if timeout is not None else DEFAULTS["timeout"],
            proxy=proxy_routes(proxy, use_environment=trust_env, environ=os.environ),
            extra_headers=extra_headers,
            real_urls=(),
            secrets=secrets_in((), extra_headers, [c.value for c in cookies]),
        )
        report = proven(report, settings, quiet=quiet)
        if poc is not None:
            write_pocs(report, poc)
        write_outputs(report, list(output or []))
        print_report(report, fmt, False, colored)
        github_extras(report, annotate=fmt == "console")
    except CorscheckError as error:
        fail_with(error)
    except KeyboardInterrupt:
        fail("interrupted: the browser and the page server were stopped", EXIT_INTERRUPTED)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        internal_error(error)
    raise typer.Exit(exit_code(report))
