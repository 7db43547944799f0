"""web-platform-tests CORS cases, restated as tables for corscheck's browser model.

Sources (web-platform-tests/wpt): cors/origin.htm, fetch/api/cors/cors-preflight-star.any.js,
cors-preflight-status.any.js, cors-preflight-not-cors-safelisted.any.js,
cors-preflight-redirect.any.js, cors-redirect.any.js, cors-redirect-credentials.any.js,
cors-multiple-origins.sub.any.js, cors-filtering.sub.any.js. Where Chromium 156 differs from
WPT's expectation (PRE-AUTHORIZATION), the case says so and follows Chromium.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from corscheck.browser import (
    Credentials,
    Probe,
    Verdict,
    judge,
    needs_preflight,
    next_request,
    readable_response_headers,
)
from corscheck.exchange import Exchange, Hop, Response
from corscheck.headers import HeaderList

ORIGIN = "http://web-platform.test:8000"
REMOTE = "http://www1.web-platform.test:8000/fetch/api/resources/preflight.py"
OTHER = "http://www2.web-platform.test:8000/fetch/api/resources/top.txt"


def resp(status: int, *pairs: tuple[str, str]) -> Response:
    return Response(status, HeaderList.of(pairs))


def run(probe: Probe, site: Mapping[str, tuple[Response, Response]]) -> Verdict:
    """Drives the fetch with credentials "omit" as the runner does, then judges for the probe."""
    driver = Probe(probe.url, probe.origin, probe.method, probe.headers, "omit")
    hops: list[Hop] = []
    while (step := next_request(driver, hops)) is not None and len(hops) < 30:
        kind, request = step
        options, actual = site.get(request.url, (resp(404), resp(404)))
        hops.append(Hop(kind, request, options if kind == "preflight" else actual))
    return judge(probe, Exchange(tuple(hops)))


# --- cors/origin.htm: Access-Control-Allow-Origin values on a simple GET ------------------------

ORIGIN_PASS = ["*", " *  ", "\t*", ORIGIN, " " + ORIGIN, " " + ORIGIN + "   \t ", "\t" + ORIGIN]
ORIGIN_FAIL = [
    "http://www1.web-platform.test:8000",
    "//web-platform.test:8000",
    "://web-platform.test:8000",
    "ftp://web-platform.test:8000",
    "http:://web-platform.test:8000",
    "http:/web-platform.test:8000",
    "http:web-platform.test:8000",
    "web-platform.test:8000",
    ORIGIN + "?",
    ORIGIN + "/",
    ORIGIN + " /",
    ORIGIN + "#",
    ORIGIN + "%23",
    ORIGIN + ":80",
    ORIGIN + ", *",
    ORIGIN + "\0",
    ORIGIN.upper(),
    "HTTP://web-platform.test:8000",
    "-",
    "**",
    "\0*",
    "*\0",
    "'*'",
    '"*"',
    "* *",
    "* null",
    "*http://*",
    "*" + ORIGIN,
    "* " + ORIGIN,
    "*, " + ORIGIN,
    "\0" + ORIGIN,
    "null " + ORIGIN,
    "http://example.net",
    "null",
    "null *",
    "",
    ORIGIN + "/cors/origin.htm",
    ORIGIN + "/cors/",
    "http://www1.web-platform.test:8000",
    "web-platform.test:8000",
    ".web-platform.test:8000",
    "*.web-platform.test:8000",
    "http://.web-platform.test:8000",
    "http://*.web-platform.test:8000",
]
DOUBLE_ORIGIN = [("", "*"), ("*", ""), ("*", "*"), ("", ORIGIN), ("*", ORIGIN), (ORIGIN, ORIGIN)]


@pytest.mark.parametrize(
    ("acao", "allowed"),
    [(v, True) for v in ORIGIN_PASS] + [(v, False) for v in ORIGIN_FAIL],
    ids=[f"pass:{v!r}" for v in ORIGIN_PASS] + [f"fail:{v!r}" for v in ORIGIN_FAIL],
)
def test_origin_htm(acao: str, allowed: bool) -> None:
    probe = Probe(REMOTE, ORIGIN)
    verdict = run(probe, {REMOTE: (resp(404), resp(200, ("Access-Control-Allow-Origin", acao)))})
    assert verdict.allowed is allowed


@pytest.mark.parametrize(("first", "second"), DOUBLE_ORIGIN, ids=[repr(p) for p in DOUBLE_ORIGIN])
def test_origin_htm_double(first: str, second: str) -> None:
    lines = (("Access-Control-Allow-Origin", first), ("Access-Control-Allow-Origin", second))
    verdict = run(Probe(REMOTE, ORIGIN), {REMOTE: (resp(404), resp(200, *lines))})
    assert not verdict.allowed
    assert verdict.reason_id in ("CHECK-ACAO-MULTIPLE", "CHECK-ACAO-MATCH")


# --- fetch/api/cors/cors-preflight-star.any.js ------------------------------------------------

STAR_CASES = [
    # (succeeds, credentials, allow_methods, allow_headers, method, header)
    (True, False, "get", "x-test", "GET", ("X-Test", "1")),
    (True, False, "*", "x-test", "SUPER", ("X-Test", "1")),
    (True, False, "*", "*", "OK", ("X-Test", "1")),
    (False, True, "*", "*", "OK", ("X-Test", "1")),
    (False, True, "*", "", "PUT", None),
    (True, True, "PUT", "*", "PUT", None),
    (False, True, "get", "*", "GET", ("X-Test", "1")),
    (False, True, "*", "*", "GET", ("X-Test", "1")),
    (True, True, "*", "*", "*", ("*", "1")),
    (False, True, "put", "*", "PUT", None),
]


@pytest.mark.parametrize(
    ("succeeds", "with_credentials", "allow_methods", "allow_headers", "method", "header"),
    STAR_CASES,
    ids=[
        f"{'ok' if c[0] else 'fail'}-cred{int(c[1])}-{c[2]}-{c[3] or 'none'}-{c[4]}"
        for c in STAR_CASES
    ],
)
def test_preflight_star(
    succeeds: bool,
    with_credentials: bool,
    allow_methods: str,
    allow_headers: str,
    method: str,
    header: tuple[str, str] | None,
) -> None:
    credentials: Credentials = "include" if with_credentials else "omit"
    grant = [("Access-Control-Allow-Origin", ORIGIN if with_credentials else "*")]
    if with_credentials:
        grant.append(("Access-Control-Allow-Credentials", "true"))
    preflight = resp(
        200,
        *grant,
        ("Access-Control-Allow-Methods", allow_methods),
        ("Access-Control-Allow-Headers", allow_headers),
    )
    probe = Probe(REMOTE, ORIGIN, method, (header,) if header else (), credentials)
    verdict = run(probe, {REMOTE: (preflight, resp(200, *grant))})
    assert verdict.allowed is succeeds


# --- fetch/api/cors/cors-preflight-status.any.js ------------------------------------------------

STATUSES = [
    200,
    201,
    202,
    203,
    204,
    205,
    206,
    300,
    301,
    302,
    303,
    304,
    305,
    306,
    307,
    308,
    400,
    401,
    402,
    403,
    404,
    405,
    501,
    502,
    503,
    504,
    505,
]


@pytest.mark.parametrize("status", STATUSES, ids=[str(s) for s in STATUSES])
def test_preflight_status(status: int) -> None:
    grant = ("Access-Control-Allow-Origin", "*")
    preflight = resp(status, grant, ("Access-Control-Allow-Headers", "x-test"))
    probe = Probe(REMOTE, ORIGIN, "GET", (("X-Test", "1"),))
    verdict = run(probe, {REMOTE: (preflight, resp(200, grant))})
    assert verdict.allowed is (200 <= status <= 299)
    assert verdict.preflight


# --- fetch/api/cors/cors-preflight-not-cors-safelisted.any.js -----------------------------------

NOT_SAFELISTED = [
    ("accept", '"'),
    ("accept", "0123456789" * 12 + "012345678"),
    ("accept-language", "\x01"),
    ("accept-language", "@"),
    ("authorization", "basics"),
    ("content-language", "\x01"),
    ("content-language", "@"),
    ("content-type", "text/html"),
    ("content-type", "text/plain; long=" + "0123456789" * 11 + "01"),
    ("range", "bytes 0-"),
    ("test", "hi"),
]


@pytest.mark.parametrize(
    ("name", "value"), NOT_SAFELISTED, ids=[f"{n}={v[:12]!r}" for n, v in NOT_SAFELISTED]
)
def test_not_safelisted_needs_preflight(name: str, value: str) -> None:
    probe = Probe(REMOTE, ORIGIN, "GET", ((name, value),))
    assert needs_preflight(probe)
    step = next_request(probe, [])
    assert step is not None and step[0] == "preflight"
    assert ("Access-Control-Request-Headers", name) in step[1].headers


# --- fetch/api/cors/cors-preflight-redirect.any.js ----------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308], ids=str)
def test_preflight_redirect_fails(status: int) -> None:
    preflight = resp(
        status,
        ("Location", OTHER),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Allow-Headers", "x-test"),
    )
    probe = Probe(REMOTE, ORIGIN, "GET", (("X-Test", "1"),))
    verdict = run(probe, {REMOTE: (preflight, resp(200, ("Access-Control-Allow-Origin", "*")))})
    assert (verdict.allowed, verdict.reason_id) == (False, "PRE-REDIRECT")


# --- fetch/api/cors/cors-redirect.any.js and cors-origin.any.js ----------------------------------

REDIRECTS = [
    # (status, location, final ACAO, allowed): same- and cross-origin targets of a CORS request
    (301, REMOTE + "?to", "*", True),
    (302, OTHER, "*", True),
    (303, OTHER, "*", True),
    (307, REMOTE + "?to", ORIGIN, True),
    (308, OTHER, ORIGIN, False),  # tainted origin: the second hop sends Origin: null
    (302, OTHER, "null", True),
    (307, ORIGIN + "/page", "null", True),  # back to the page's origin: still tainted
    (302, ORIGIN + "/page", ORIGIN, False),
]


@pytest.mark.parametrize(
    ("status", "location", "acao", "allowed"),
    REDIRECTS,
    ids=[f"{s}-{loc.split('/')[2]}-{a}" for s, loc, a, _ in REDIRECTS],
)
def test_cors_redirect(status: int, location: str, acao: str, allowed: bool) -> None:
    first = resp(status, ("Location", location), ("Access-Control-Allow-Origin", "*"))
    site = {
        REMOTE: (resp(404), first),
        location: (resp(404), resp(200, ("Access-Control-Allow-Origin", acao))),
    }
    assert run(Probe(REMOTE, ORIGIN), site).allowed is allowed


# --- fetch/api/cors/cors-redirect-credentials.any.js --------------------------------------------


@pytest.mark.parametrize(
    ("location", "allowed"),
    [
        ("http://user:password@www1.web-platform.test:8000/x", False),
        ("http://user@www2.web-platform.test:8000/x", False),
        ("http://:password@web-platform.test:8000/x", False),  # the CORS flag is set
    ],
    ids=["same-host-userinfo", "cross-user", "page-origin"],
)
def test_redirect_with_credentials_in_url(location: str, allowed: bool) -> None:
    first = resp(302, ("Location", location), ("Access-Control-Allow-Origin", "*"))
    target = location.replace("user:password@", "").replace("user@", "").replace(":password@", "")
    site = {
        REMOTE: (resp(404), first),
        location: (resp(404), resp(200, ("Access-Control-Allow-Origin", "*"))),
        target: (resp(404), resp(200, ("Access-Control-Allow-Origin", "*"))),
    }
    verdict = run(Probe(REMOTE, ORIGIN), site)
    assert verdict.allowed is allowed
    if not allowed:
        assert verdict.reason_id == "RESP-REDIRECT"


# --- fetch/api/cors/cors-multiple-origins.sub.any.js --------------------------------------------


@pytest.mark.parametrize(
    "acao",
    [f"{ORIGIN}, {ORIGIN}", f"{ORIGIN},{ORIGIN}", f"{ORIGIN}, http://example.com", "*, *"],
    ids=["same-twice", "no-space", "other", "stars"],
)
def test_multiple_origins_fail(acao: str) -> None:
    verdict = run(
        Probe(REMOTE, ORIGIN),
        {REMOTE: (resp(404), resp(200, ("Access-Control-Allow-Origin", acao)))},
    )
    assert (verdict.allowed, verdict.reason_id) == (False, "CHECK-ACAO-MULTIPLE")


# --- fetch/api/cors/cors-filtering.sub.any.js ---------------------------------------------------

FILTERING = [
    # (exposed, credentials, header asked for, readable)
    ("", "omit", "cache-control", True),
    ("", "omit", "content-language", True),
    ("", "omit", "content-type", True),
    ("", "omit", "expires", True),
    ("", "omit", "last-modified", True),
    ("", "omit", "pragma", True),
    ("", "omit", "content-length", True),
    ("", "omit", "age", False),
    ("", "omit", "server", False),
    ("", "omit", "warning", False),
    ("", "omit", "set-cookie", False),
    ("age", "omit", "age", True),
    ("AGE", "omit", "age", True),
    ("age, server", "omit", "server", True),
    ("*", "omit", "age", True),
    ("*", "omit", "set-cookie", False),
    ("*", "include", "age", False),
    ("*, age", "include", "age", True),
]


@pytest.mark.parametrize(
    ("exposed", "credentials", "name", "readable"),
    FILTERING,
    ids=[f"{e or 'none'}-{c}-{n}" for e, c, n, _ in FILTERING],
)
def test_cors_filtering(exposed: str, credentials: Credentials, name: str, readable: bool) -> None:
    headers = [
        (n, "x")
        for n in (
            "Cache-Control",
            "Content-Language",
            "Content-Type",
            "Expires",
            "Last-Modified",
            "Pragma",
            "Content-Length",
            "Age",
            "Server",
            "Warning",
            "Set-Cookie",
        )
    ]
    if exposed:
        headers.append(("Access-Control-Expose-Headers", exposed))
    response = resp(200, ("Access-Control-Allow-Origin", ORIGIN), *headers)
    assert (name in readable_response_headers(response, credentials)) is readable
