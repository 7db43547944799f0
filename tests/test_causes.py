"""Deployment causes in detail (evaluate/causes.py, evaluate/cache.py): which layer an error
response comes from, which fix a redirect gets, how a cache is named and when one is suspected.
The firing and quiet case of each rule is in test_evaluate.py's table."""

from __future__ import annotations

import pytest

from corscheck.browser import Exchange, Hop, Probe, Request, Response, Verdict
from corscheck.evaluate.cache import busted, cache_name, cache_suspected, has_cache_evidence
from corscheck.evaluate.causes import _redirect_fix, error_layer
from corscheck.evaluate.model import ProbeResult
from corscheck.headers import parse_header_lines
from corscheck.plan import ALLOWED, FIRST_PARTY, PlannedProbe
from corscheck.stack import Stack

URL = "https://api.example.com/v1/users"
APP = "https://app.example.com"


def response(status: int, *lines: str) -> Response:
    return Response(status, parse_header_lines(lines))


@pytest.mark.parametrize(
    ("status", "lines", "stack", "layer", "fix"),
    [
        (401, ("WWW-Authenticate: Bearer",), None, "authentication layer", "in front of auth"),
        (403, (), None, "authentication layer", "in front of auth"),
        (400, ("WWW-Authenticate: Basic",), None, "(WWW-Authenticate: Basic)", "in front of auth"),
        (502, ("Server: nginx/1.22.1",), None, "nginx itself (its own 502 page)", "always"),
        (429, ("Server: nginx",), None, "nginx itself (its own 429 page)", "always"),
        (404, ("Server: nginx",), None, "a layer in front of the CORS layer", "outermost"),
        (503, ("Server: Apache/2.4",), None, "Apache itself (its own 503 page)", "Header always"),
        (500, ("Server: Caddy",), None, "Caddy itself", "Header always"),
        (499, ("Server: Caddy",), None, "a layer in front", "outermost"),
        (500, (), "fastapi", "Starlette's ServerErrorMiddleware", "inside CORSMiddleware"),
        (500, (), "starlette", "Starlette's ServerErrorMiddleware", "inside CORSMiddleware"),
        (502, (), "fastapi", "a layer in front of the CORS layer", "outermost"),
        (500, (), "flask", "a layer in front of the CORS layer", "outermost"),
    ],
)
def test_error_layer(
    status: int, lines: tuple[str, ...], stack: str | None, layer: str, fix: str
) -> None:
    named, fixed = error_layer(response(status, *lines), Stack(stack, "certain", "test"))
    assert layer in named
    expected_fix = {"in front of auth": "CORS layer in front of authentication"}.get(fix, fix)
    assert expected_fix in fixed


@pytest.mark.parametrize(
    ("url", "location", "preflight", "starts"),
    [
        ("http://a.test/x", "https://a.test/x", True, "The server upgrades http to https"),
        ("http://a.test/x", "https://b.test/x", False, "The server upgrades http to https"),
        ("https://a.test/x", "/x/", True, "The redirect only changes the trailing slash"),
        ("https://a.test/x/", "https://a.test/x", False, "The redirect only changes"),
        ("https://a.test/x", "https://b.test/x/", True, "Preflights are redirected to"),
        ("https://a.test/x", "/login", True, "Preflights are redirected to /login"),
        ("https://a.test/x", "/login", False, "The request is redirected to /login"),
        ("https://a.test/x", "http://[::1", False, "Have the front-end call the final URL"),
    ],
)
def test_redirect_fix(url: str, location: str, preflight: bool, starts: str) -> None:
    assert _redirect_fix(url, location, preflight).startswith(starts)


@pytest.mark.parametrize(
    ("lines", "name"),
    [
        (("X-Varnish: 32770 3",), "Varnish"),
        (("Via: 1.1 varnish (Varnish/7.1)",), "Varnish"),
        (("CF-Cache-Status: HIT",), "Cloudflare's cache"),
        (("X-Cache: Hit from cloudfront",), "CloudFront"),
        (("Via: 1.1 abc.cloudfront.net (CloudFront)",), "CloudFront"),
        (("Server: nginx", "X-Cache-Status: HIT"), "nginx's proxy_cache"),
        (("Age: 3",), "A shared cache"),
    ],
)
def test_cache_name(lines: tuple[str, ...], name: str) -> None:
    assert cache_name(response(200, *lines)) == name


@pytest.mark.parametrize(
    ("line", "evidence"),
    [
        ("Age: 0", True),
        ("X-Cache: MISS", True),
        ("X-Proxy-Cache: HIT", True),
        ("Via: 1.1 x", False),
    ],
)
def test_cache_evidence(line: str, evidence: bool) -> None:
    assert has_cache_evidence(response(200, line)) is evidence


def test_busted_keeps_the_query() -> None:
    assert busted(URL, "t1") == URL + "?corscheck-cache=t1"
    assert busted(URL + "?page=2", "t1") == URL + "?page=2&corscheck-cache=t1"


def result(
    origin: str,
    answer: Response,
    *,
    origin_class: str = ALLOWED,
    outcome: str = "as-expected",
    reason: str | None = None,
    kind: str = "actual",
) -> ProbeResult:
    probe = Probe(URL, origin, "GET", (), "omit")
    hop = Hop(kind, Request("GET", URL, (("Origin", origin),)), answer)  # type: ignore[arg-type]
    verdict = Verdict(allowed=outcome == "as-expected", preflight=False, reason_id=reason)  # type: ignore[arg-type]
    planned = PlannedProbe(probe, origin_class, origin, "origin")
    return ProbeResult(planned, Exchange((hop,)), verdict, True, outcome)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("made", "suspected"),
    [
        (result(APP, response(200, f"Access-Control-Allow-Origin: {APP}")), False),
        (result(APP, response(200, "Age: 4")), True),
        (result(APP, response(200, "Access-Control-Allow-Origin: https://other.test")), True),
        (result(APP, response(200, "Access-Control-Allow-Origin: *")), False),
        (result(APP, response(200, "Access-Control-Allow-Origin: null")), False),
        (
            result(
                APP,
                response(200, "Access-Control-Allow-Origin: https://other.test"),
                kind="preflight",
            ),
            False,
        ),
        (result(APP, response(200), outcome="under-permissive", reason="CHECK-ACAO-MISSING"), True),
        (result(APP, response(200), outcome="under-permissive", reason="CHECK-ACAO-MATCH"), True),
        (result(APP, response(200), outcome="under-permissive", reason="PRE-METHOD"), False),
        (
            result(
                APP,
                response(200),
                origin_class=FIRST_PARTY,
                outcome="under-permissive",
                reason="CHECK-ACAO-MISSING",
            ),
            False,
        ),
    ],
)
def test_cache_suspected(made: ProbeResult, suspected: bool) -> None:
    assert cache_suspected([made]) is suspected
