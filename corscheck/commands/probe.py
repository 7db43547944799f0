"""`corscheck probe`: one fetch() from a page on an origin, and whether the browser lets it read."""

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from corscheck.commands.edge import the_edge
from corscheck.commands.options import (
    IN_PROCESS,
    OUTPUT,
    VISITOR,
    ColorOption,
    CookieOption,
    HeaderOption,
    InsecureOption,
    NoProxyOption,
    ProbeFormat,
    ProxyOption,
    SendUnsafeOption,
    TimeoutOption,
    UserAgentOption,
    checked_proxy,
    parse_header,
)
from corscheck.report.outputs import color, width

if TYPE_CHECKING:
    pass

FETCH = "Fetch"  # the page's fetch(): its origin, method and credentials mode
EPILOG = """\b
Examples:
  corscheck probe https://api.example.com/v1/me --origin https://app.example.com --credentials
  corscheck probe https://api.example.com/v1/items --origin null -X PUT -H 'Content-Type: application/json'

\b
Exit codes:
  0    the fetch was judged, allowed or blocked
  2    usage or input error, or an internal error
  3    the URL could not be reached
  130  interrupted (Ctrl-C)
  141  stdout closed before the answer was written
"""


def _split_probe_headers(
    raw: list[str],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The page's fetch() headers, and the ones a page cannot set (REQ-FORBIDDEN-HEADER), sent as-is."""
    from corscheck.browser import is_forbidden_request_header

    page: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    for text in raw:
        name, value = parse_header(text)
        (extra if is_forbidden_request_header(name, value) else page).append((name, value))
    return tuple(page), tuple(extra)


def probe(
    url: Annotated[
        str, typer.Argument(help="The URL the page fetches.", metavar="URL", show_default=False)
    ],
    origin: Annotated[
        str,
        typer.Option(
            "--origin",
            metavar="ORIGIN",
            help="The page's origin, e.g. https://app.example.com or null.",
            rich_help_panel=FETCH,
        ),
    ],
    method: Annotated[
        str,
        typer.Option(
            "--method",
            "-X",
            metavar="METHOD",
            help="fetch() method, as the page writes it (default: GET).",
            show_default=False,
            rich_help_panel=FETCH,
        ),
    ] = "GET",
    header: HeaderOption = None,
    credentials: Annotated[
        bool,
        typer.Option(
            "--credentials",
            help="The fetch's credentials: 'include' (default: 'same-origin'). Not the policy's "
            "--credentials of audit.",
            rich_help_panel=FETCH,
        ),
    ] = False,
    send_unsafe: SendUnsafeOption = False,
    cookie: CookieOption = None,
    browser: Annotated[
        list[str] | None,
        typer.Option(
            "--browser",
            metavar="PROFILE",
            help="chrome, chrome-no-3pc, firefox or safari: whose cookies go with the request "
            "(default: chrome).",
            rich_help_panel=VISITOR,
        ),
    ] = None,
    user_agent: UserAgentOption = None,
    as_is: Annotated[
        bool,
        typer.Option(
            "--as-is",
            help="Judge the URL exactly as given. Without it, an http:// URL on a name that is "
            "not loopback is judged as the https deployment it stands for.",
            rich_help_panel=VISITOR,
        ),
    ] = False,
    fmt: Annotated[
        ProbeFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="console, or json: the stable contract (schema corscheck.probe/1, README's "
            "'One fetch: probe') (default: console).",
            show_default=False,
            rich_help_panel=OUTPUT,
        ),
    ] = ProbeFormat.console,
    colored: ColorOption = None,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    app_spec: Annotated[
        str | None,
        typer.Option(
            "--app",
            metavar="MODULE:APP",
            help="The URL is a path of this ASGI/WSGI app, run in-process.",
            rich_help_panel=IN_PROCESS,
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Where the --app thinks it is served (default: http://testserver).",
            rich_help_panel=IN_PROCESS,
        ),
    ] = None,
) -> None:
    """Act like one fetch() from a page on ORIGIN and say whether the browser lets it read the response."""
    from corscheck.inputs import under

    with the_edge():
        from corscheck.browser import Probe
        from corscheck.config import Flags, resolve
        from corscheck.deployment import Wire, judged_url
        from corscheck.headers import serialize_origin
        from corscheck.probe import PROBE_OPTIONS, run_probe, visitor_probe
        from corscheck.runner import run_async
        from corscheck.target import validate_url

        proxy, trust_env = checked_proxy(proxy, no_proxy)
        loaded = None
        if app_spec is not None:
            from corscheck.transport.app import load_app
            from corscheck.transport.options import DEFAULT_BASE_URL

            loaded = load_app(app_spec)
            base_url = base_url or DEFAULT_BASE_URL
            validate_url(base_url)
            url = under(base_url, url)
        given = validate_url(url)
        target = judged_url(given, as_is)
        page_origin = "null" if origin.strip() == "null" else serialize_origin(origin.strip())
        page_headers, extra = _split_probe_headers(list(header or []))
        config = resolve(
            Flags(
                cookies=tuple(cookie or ()),
                browsers=tuple(browser or ()),
                user_agent=user_agent,
                headers=extra,
            )
        )
        the_probe, visitor_line = visitor_probe(
            Probe(
                url=target,
                origin=page_origin,
                method=method,
                headers=page_headers,
                credentials="include" if credentials else "same-origin",
                extra_headers=config.extra_headers,
            ),
            config.visitor,
        )
        options = replace(
            PROBE_OPTIONS,
            timeout=timeout if timeout is not None else PROBE_OPTIONS.timeout,
            send_unsafe=send_unsafe,
            insecure=insecure,
            proxy=proxy,
            trust_env=trust_env,
        )
        result = run_async(
            run_probe(
                the_probe,
                options,
                app=loaded,
                base_url=base_url,
                visitor=config.visitor,
                wire=Wire.of(given, target),
            )
        )
        result = replace(result, visitor=visitor_line)
    if fmt is ProbeFormat.json:
        import json

        from corscheck.report.codec import encode_probe_report

        typer.echo(json.dumps(encode_probe_report(result), indent=2, ensure_ascii=False))
    else:
        from corscheck.report.console import render_probe

        typer.echo(
            render_probe(result, color=color(colored), width=width()),
            nl=False,
            color=color(colored),
        )
