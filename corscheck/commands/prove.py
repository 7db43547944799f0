"""`corscheck prove REPORT.json`: the findings of a report replayed in headless Chromium, and the
proof-of-concept pages written (deliver.py does both, as for `audit --prove`)."""

import os
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from corscheck.commands.edge import exit_code, the_edge
from corscheck.commands.options import (
    BrowserPathOption,
    ColorOption,
    CookieOption,
    DetailOption,
    FailOnOverrideOption,
    FormatOption,
    HeaderOption,
    InsecureOption,
    NoProxyOption,
    OutputOption,
    PocOption,
    ProxyOption,
    QuietOption,
    SendUnsafeOption,
    TimeoutOption,
    check_format,
    checked_proxy,
    parse_header,
)
from corscheck.config import DEFAULTS
from corscheck.errors import UsageError

if TYPE_CHECKING:
    pass


def prove(
    report_path: Annotated[
        str,
        typer.Argument(help="A JSON report of corscheck audit.", metavar="REPORT.json"),
    ],
    browser_path: BrowserPathOption = None,
    poc: PocOption = None,
    cookie: CookieOption = None,
    header: HeaderOption = None,
    send_unsafe: SendUnsafeOption = False,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    fmt: FormatOption = "console",
    output: OutputOption = None,
    detail: DetailOption = "compact",
    fail_on: FailOnOverrideOption = None,
    colored: ColorOption = None,
    quiet: QuietOption = False,
) -> None:
    """Replay the findings of an earlier report in headless Chromium and attach the proofs.

    The report's secrets are masked: give --cookie and -H again to replay with the real ones.
    """
    from corscheck.deliver import Delivery, deliver
    from corscheck.masking import secrets_in
    from corscheck.merge import merge_reports
    from corscheck.prove.chromium import find_browser
    from corscheck.prove.run import ProveSettings
    from corscheck.report.outputs import check_outputs
    from corscheck.transport.proxy import proxy_routes
    from corscheck.visitor import parse_cookie, visitor_of

    with the_edge(lambda: "interrupted: the browser and the page server were stopped"):
        check_format(fmt)
        check_outputs(output or [])
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
        delivery = Delivery(
            fmt=fmt, outputs=list(output or []), colored=colored, quiet=quiet, proving=settings,
            poc=poc, detail=detail,  # type: ignore[arg-type]  # checked by one_of
        )  # fmt: skip
        report = deliver(report, delivery)
    raise typer.Exit(exit_code(report))
