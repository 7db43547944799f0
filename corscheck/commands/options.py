"""Option definitions more than one command shares, defined once so they cannot drift, and the parsers
of their values."""

import os
from enum import StrEnum
from typing import Annotated

import typer

from corscheck.errors import PolicyError, UsageError


class Depth(StrEnum):
    quick = "quick"
    standard = "standard"
    thorough = "thorough"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    never = "never"


class Framework(StrEnum):
    fastapi = "fastapi"
    starlette = "starlette"
    flask = "flask"
    django = "django"
    express = "express"
    spring = "spring"
    nginx = "nginx"
    generic = "generic"


class ProbeFormat(StrEnum):
    console = "console"
    json = "json"


# The network options `audit` and `probe` share.
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "-H",
        "--header",
        help="'Name: value' (repeat): audit sends it with every request, probe as a fetch() "
        "header; secrets are masked in output.",
    ),
]
TimeoutOption = Annotated[float, typer.Option(help="Seconds per request.", min=0.01, max=600)]
InsecureOption = Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates.")]
ProxyOption = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        help="HTTP proxy for every target, http://[user:password@]host:port (default: "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).",
        show_default=False,
    ),
]
NoProxyOption = Annotated[
    bool,
    typer.Option("--no-proxy", help="Connect directly; ignore the proxy environment variables."),
]
AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        help="Send to an ASGI/WSGI app in-process (module:attr); URLs (and -i lines) are paths.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where the --app thinks it is served (http://testserver); with --openapi, the API's "
        "base URL instead of the document's servers.",
        show_default=False,
    ),
]
OutputOption = Annotated[
    list[str] | None,
    typer.Option("-o", "--output", help="Also write a report; format from the extension (repeat)."),
]


def checked_proxy(proxy: str | None, no_proxy: bool) -> tuple[str | None, bool]:
    """`--proxy` and `--no-proxy` as RunOptions takes them (proxy, trust_env), checked with the
    environment's proxies before any output begins: a proxy corscheck cannot speak to is a usage
    error, never a half-written report."""
    from corscheck.proxy import proxy_routes

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


def under(base_url: str, path_or_url: str) -> str:
    """An --app target: a path joined to the app's base URL; a full URL as it is."""
    if "://" in path_or_url:
        return path_or_url
    return base_url.rstrip("/") + "/" + path_or_url.lstrip("/")
