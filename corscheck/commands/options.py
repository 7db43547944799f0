"""Option definitions more than one command shares, defined once so they cannot drift, and the parsers
of their values."""

import os
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated, Any

import typer

from corscheck.config import DEFAULTS, FAIL_ON_VALUES
from corscheck.errors import PolicyError, UsageError


class ProbeFormat(StrEnum):
    console = "console"
    json = "json"


# Help panels, in the order `audit --help` shows them.
TARGETS, POLICY, VISITOR, REQUESTS, POLITENESS, OUTPUT, PROOF, IN_PROCESS = (
    "Targets",
    "Policy",
    "Visitor",
    "Requests",
    "Politeness",
    "Output",
    "Proof",
    "In-process",
)
FORMATS_HELP = "console, json, sarif, junit, markdown, github or html"


def at_least(low: float, high: float | None = None) -> Callable[[Any], Any]:
    """A callback that refuses a number below `low` (or above `high`); the help says the bounds in
    words, where click's ranges would print `[x>=0]`."""

    def check(value: Any) -> Any:
        if value is not None and (value < low or (high is not None and value > high)):
            bounds = f"from {low:g} to {high:g}" if high is not None else f"{low:g} or more"
            raise typer.BadParameter(f"{value:g} is out of range; give {bounds}")
        return value

    return check


def one_of(choices: Sequence[str]) -> Callable[[Any], Any]:
    """A callback that refuses a value not among `choices` (config.py owns each closed set)."""

    def check(value: Any) -> Any:
        if value is not None and value not in choices:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(choices)}")
        return value

    return check


FailOnOption = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help="Lowest severity that makes the exit code 1: critical, high, medium, low or never "
        f"(default: {DEFAULTS['fail-on']}).",
        callback=one_of(FAIL_ON_VALUES),
        show_default=False,
        rich_help_panel="Output",
    ),
]

# `merge` and `prove` read reports that carry a threshold already.
FailOnOverrideOption = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        help="Override the report's threshold: critical, high, medium, low or never.",
        callback=one_of(FAIL_ON_VALUES),
        rich_help_panel="Output",
    ),
]

# The network options `audit` and `probe` share.
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "-H",
        "--header",
        metavar="'NAME: VALUE'",
        help="Send it with every request (repeat): as given by audit, init and a replay, as the "
        "page's fetch() header by probe; secrets are masked in output.",
        rich_help_panel=REQUESTS,
    ),
]
# The safety gate, the same for every command that sends: audit, probe, prove.
SendUnsafeOption = Annotated[
    bool,
    typer.Option(
        "--send-unsafe",
        help="Also send unsafe requests (POST, PUT, …), audited, probed or replayed; without it "
        "only OPTIONS, GET and HEAD go out.",
        rich_help_panel=REQUESTS,
    ),
]
# Whose browser the verdicts are about (visitor.py); `audit` and `probe` share them.
CookieOption = Annotated[
    list[str] | None,
    typer.Option(
        "--cookie",
        metavar="'NAME=VALUE; ATTRIBUTES'",
        help="A cookie the visitor's browser holds for the API, as its Set-Cookie line (repeat); "
        "sent where that browser would send it, masked in output. Without it: a placeholder "
        "SameSite=None; Secure session.",
        rich_help_panel=VISITOR,
    ),
]
BrowserOption = Annotated[
    list[str] | None,
    typer.Option(
        "--browser",
        metavar="PROFILE",
        help="chrome (third-party cookies allowed), chrome-no-3pc, firefox or safari (repeat; the "
        "first decides verdicts and severity). Default: chrome, with the others' exposure shown.",
        rich_help_panel=VISITOR,
    ),
]
UserAgentOption = Annotated[
    str | None,
    typer.Option(
        "--user-agent",
        metavar="chrome|STRING",
        help="Send Chrome's User-Agent (chrome) or this one, e.g. for a WAF that turns tools "
        "away (default: corscheck/VERSION, so that operators can tell an audit in their logs).",
        show_default=False,
        rich_help_panel=VISITOR,
    ),
]
AsIsOption = Annotated[
    bool,
    typer.Option(
        "--as-is",
        help="Judge each URL exactly as given. Without it, an http:// URL on a name that is not "
        "loopback (a staging host, an in-process app) is judged as the https deployment it stands "
        "for: Secure cookies, SameSite and mixed content as there.",
        rich_help_panel=VISITOR,
    ),
]
# Proof in a real browser (corscheck/prove/); `audit` and `prove` share them.
BrowserPathOption = Annotated[
    str | None,
    typer.Option(
        "--browser-path",
        metavar="PATH",
        help="The Chromium or Chrome the proofs drive (default: the first of chromium, "
        "chromium-browser, google-chrome, google-chrome-stable, chrome on PATH).",
        rich_help_panel=PROOF,
    ),
]
PocOption = Annotated[
    str | None,
    typer.Option(
        "--poc",
        metavar="DIR",
        help="Write a proof-of-concept HTML page per over-permissive finding into DIR, to serve "
        "on the attacker's origin (no secret of the run is written).",
        rich_help_panel=PROOF,
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        metavar="SECONDS",
        help=f"Seconds per request, up to 600 (default: {DEFAULTS['timeout']:g}).",
        callback=at_least(0.01, 600),
        show_default=False,
        rich_help_panel=REQUESTS,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option("--insecure", help="Do not verify TLS certificates.", rich_help_panel=REQUESTS),
]
ProxyOption = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        metavar="URL",
        help="HTTP proxy for every target, http://[user:password@]host:port (default: "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).",
        show_default=False,
        rich_help_panel=REQUESTS,
    ),
]
NoProxyOption = Annotated[
    bool,
    typer.Option(
        "--no-proxy",
        help="Connect directly; ignore the proxy environment variables.",
        rich_help_panel=REQUESTS,
    ),
]
AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        metavar="MODULE:APP",
        help="Send to an ASGI/WSGI app in-process; URLs (and -i lines) are paths.",
        rich_help_panel=IN_PROCESS,
    ),
]
ConfigFromOption = Annotated[
    str | None,
    typer.Option(
        "--config-from",
        metavar="SOURCE",
        help="Read the allow-list where the code writes it: MODULE:APP (imported, not served) or "
        "an nginx file. Its regexes' attacker witnesses are probed live; --app reads its own app.",
        rich_help_panel=IN_PROCESS,
    ),
]
HarOption = Annotated[
    str | None,
    typer.Option(
        "--har",
        metavar="FILE",
        help="Audit the API URLs a browser recording (HAR) calls cross-origin, with the "
        "front-end's recorded methods and headers as its requests; its origins are the policy's "
        "unless given. HAR exports drop cookies: --credentials or --cookie say they go.",
        rich_help_panel=TARGETS,
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="Where the --app thinks it is served (http://testserver); with --openapi, the API's "
        "base URL instead of the document's servers.",
        show_default=False,
        rich_help_panel=IN_PROCESS,
    ),
]

# The output options of the commands that print a report.
FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help=f"The report on stdout: {FORMATS_HELP} (default: console).",
        show_default=False,
        rich_help_panel=OUTPUT,
    ),
]
OutputOption = Annotated[
    list[str] | None,
    typer.Option(
        "-o",
        "--output",
        metavar="PATH",
        help="Also write a report; its format from the extension: .json, .sarif, .xml (JUnit), "
        ".md, .html, .txt (repeat).",
        rich_help_panel=OUTPUT,
    ),
]
QuietOption = Annotated[
    bool,
    typer.Option(
        "-q",
        "--quiet",
        help="Only the report: no progress, notes or intro.",
        rich_help_panel=OUTPUT,
    ),
]
ColorOption = Annotated[
    bool | None,
    typer.Option(
        "--color/--no-color",
        help="Colour the console report (default: on a terminal, unless NO_COLOR is set).",
        show_default=False,
        rich_help_panel=OUTPUT,
    ),
]


def check_format(fmt: str) -> str:
    """The --format name if corscheck renders it; raises UsageError otherwise."""
    from corscheck.report import renderer

    renderer(fmt)
    return fmt


def checked_proxy(proxy: str | None, no_proxy: bool) -> tuple[str | None, bool]:
    """`--proxy` and `--no-proxy` as RunOptions takes them (proxy, trust_env), checked with the
    environment's proxies before any output begins: a proxy corscheck cannot speak to is a usage
    error, never a half-written report."""
    from corscheck.transport.proxy import proxy_routes

    if proxy is not None and no_proxy:
        raise UsageError("--proxy and --no-proxy contradict each other; give one")
    proxy_routes(proxy, use_environment=not no_proxy, environ=os.environ)
    return proxy, not no_proxy


def parse_header(text: str) -> tuple[str, str]:
    from corscheck.policy import validate_header_name

    name, sep, value = text.partition(":")
    if not sep:
        raise UsageError(f"header {text!r} has no colon; write -H 'Name: value'")
    name = name.strip()
    try:
        validate_header_name(name)
    except PolicyError:
        raise UsageError(f"header {text!r}: {name!r} is not a valid header name") from None
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"header {name!r}: the value contains a line break or NUL byte")
    return name, value.strip()


def parse_rate(text: str | None) -> float | None:
    if text is None:
        return None
    number = text.strip().removesuffix("/s")
    try:
        rate = float(number)
    except ValueError:
        raise UsageError(
            f"--rate {text!r} is not a number of requests per second (e.g. 20/s)"
        ) from None
    if not rate > 0 or rate == float("inf"):
        raise UsageError(f"--rate must be above 0, got {text!r}")
    return rate


# The policy on the command line (audit).
AllowOriginOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-origin",
        metavar="ORIGIN",
        help="An origin the policy allows (repeat; '*' for a public API).",
        rich_help_panel=POLICY,
    ),
]
AllowMethodOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-method",
        metavar="METHOD",
        help="A method the policy allows (repeat).",
        rich_help_panel=POLICY,
    ),
]
AllowHeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-header",
        metavar="HEADER",
        help="A request header the policy allows (repeat).",
        rich_help_panel=POLICY,
    ),
]
ExposeHeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "--expose-header",
        metavar="HEADER",
        help="A response header the page must read (repeat).",
        rich_help_panel=POLICY,
    ),
]
CredentialsOption = Annotated[
    bool | None,
    typer.Option(
        "--credentials/--no-credentials",
        help="Whether allowed origins send cookies or HTTP authentication.",
        show_default=False,
        rich_help_panel=POLICY,
    ),
]
MaxAgeOption = Annotated[
    int | None,
    typer.Option(
        "--max-age",
        metavar="SECONDS",
        help="The largest acceptable Access-Control-Max-Age.",
        callback=at_least(0),
        rich_help_panel=POLICY,
    ),
]
# How much of each probe a JSON report keeps (audit, demo, merge, prove).
DetailOption = Annotated[
    str,
    typer.Option(
        "--detail",
        metavar="compact|full",
        help="JSON reports: compact keeps each probe's request shape and verdict (findings keep "
        "their whole evidence); full adds every header line of every exchange (default: compact).",
        callback=one_of(("compact", "full")),
        show_default=False,
        rich_help_panel=OUTPUT,
    ),
]
