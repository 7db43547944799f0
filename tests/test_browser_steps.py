"""The browser model step by step (corscheck/browser.py): what fetch() refuses before sending, which
page headers it drops, the requests it sends, how it follows redirects, and which step a refusal is
pinned on. Plain data, no network."""

from __future__ import annotations

import pytest

from corscheck.browser import (
    Probe,
    advance,
    cors_check,
    cors_unsafe_request_header_names,
    is_cors_safelisted_request_header,
    judge,
    needs_preflight,
    next_request,
)
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList

API = "https://api.example.com/v1/items"
SAME = "https://api.example.com"  # the API's own origin: same-origin requests
APP = "https://app.example.com"
NEXT = "https://api.example.com/v2/items"
STAR = ("Access-Control-Allow-Origin", "*")


def resp(status: int, *lines: tuple[str, str]) -> Response:
    return Response(status, HeaderList.of(lines))


def run(probe: Probe, replies: dict[str, list[Response]]) -> Exchange:
    """Answers each request to a URL with the next reply listed for it (preflights included)."""
    hops: list[Hop] = []
    pending = {url: list(answers) for url, answers in replies.items()}
    while (step := next_request(probe, hops)) is not None:
        kind, request = step
        hops.append(Hop(kind, request, pending[request.url].pop(0)))
        assert len(hops) < 30
    return Exchange(tuple(hops))


# --- what fetch() refuses before sending anything -------------------------------------------------

REQUEST_ERRORS = [
    ("GE T", API, (), "REQ-METHOD-NORMALIZE"),
    ("TRACE", API, (), "REQ-METHOD-NORMALIZE"),
    ("GET", "https://user:pw@api.example.com/v1", (), "REQ-URL-CREDENTIALS"),
    ("GET", "https://user@api.example.com/v1", (), "REQ-URL-CREDENTIALS"),  # a name alone
    ("GET", "https://:pw@api.example.com/v1", (), "REQ-URL-CREDENTIALS"),  # a password alone
    ("GET", API, (("X Api", "1"),), "REQ-FORBIDDEN-HEADER"),
    ("GET", API, (("X-Api", "a\nb"),), "REQ-FORBIDDEN-HEADER"),
    ("GET", API, (("X-Api", "\u0100"),), "REQ-FORBIDDEN-HEADER"),  # beyond latin-1
]


@pytest.mark.parametrize(("method", "url", "headers", "reason_id"), REQUEST_ERRORS)
def test_request_errors_block_before_anything_is_sent(
    method: str, url: str, headers: tuple[tuple[str, str], ...], reason_id: str
) -> None:
    probe = Probe(url, APP, method, headers)
    assert next_request(probe, []) is None
    assert not needs_preflight(probe)
    verdict = judge(probe, Exchange())
    assert (verdict.allowed, verdict.reason_id, verdict.failed_step) == (
        False,
        reason_id,
        "request",
    )


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        (API, (("X-Api", "\u00ff"),)),  # ÿ is latin-1: a valid ByteString
        ("https://[::1/v1", ()),  # does not parse: not "a URL with credentials"
        ("https://api.example.com/v1?next=https://u:p@x.example", ()),  # not in the authority
    ],
    ids=["latin-1-value", "unparsable-url", "userinfo-in-query"],
)
def test_not_refused_for_credentials_or_headers(
    url: str, headers: tuple[tuple[str, str], ...]
) -> None:
    verdict = judge(Probe(url, APP, "GET", headers), Exchange())
    assert verdict.reason_id not in ("REQ-URL-CREDENTIALS", "REQ-FORBIDDEN-HEADER")


@pytest.mark.parametrize(
    ("probe", "preflight"),
    [
        (Probe(API, APP, "PUT"), True),
        (Probe(API, APP, "GET"), False),
        (Probe(API, APP, "GET", (("X-Api", "1"),)), True),
        (Probe(API, SAME, "PUT"), False),  # same-origin: no CORS at all
        (Probe(API, SAME, "GET", (("X-Api", "1"),)), False),
        (Probe(API, APP, "TRACE"), False),  # refused before sending
    ],
    ids=["put", "get", "custom-header", "same-origin-put", "same-origin-header", "trace"],
)
def test_needs_preflight(probe: Probe, preflight: bool) -> None:
    assert needs_preflight(probe) is preflight


# --- the page's headers: dropped, combined, counted -----------------------------------------------

FORBIDDEN = [
    "Accept-Charset",
    "Accept-Encoding",
    "Access-Control-Request-Headers",
    "Access-Control-Request-Method",
    "Connection",
    "Content-Length",
    "Cookie",
    "Cookie2",
    "Date",
    "DNT",
    "Expect",
    "Host",
    "Keep-Alive",
    "Origin",
    "Referer",
    "Set-Cookie",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "Via",
    "Proxy-Authorization",
    "Sec-Fetch-Mode",
]


@pytest.mark.parametrize("name", FORBIDDEN)
def test_forbidden_request_headers_are_dropped(name: str) -> None:
    # fetch() drops them silently: they neither ask for a preflight nor hide the headers after them.
    assert cors_unsafe_request_header_names(((name, "x"), ("X-Api", "1"))) == ["x-api"]


@pytest.mark.parametrize(
    ("name", "value", "unsafe"),
    [
        ("X-HTTP-Method", "TRACE", []),  # names a forbidden method: dropped
        ("X-HTTP-Method-Override", "GET, connect", []),
        ("X-Method-Override", "track", []),
        ("X-HTTP-Method-Override", "PUT", ["x-http-method-override"]),
        ("X-Api", "TRACE", ["x-api"]),  # only the override headers are read for methods
    ],
)
def test_method_override_headers(name: str, value: str, unsafe: list[str]) -> None:
    assert cors_unsafe_request_header_names(((name, value),)) == unsafe


@pytest.mark.parametrize(
    ("name", "value", "safe"),
    [
        ("Accept", "a\x7fb", False),  # DEL is a CORS-unsafe byte
        ("Accept", "\u20ac" * 42, True),  # 126 bytes in UTF-8
        ("Accept", "\u20ac" * 43, False),  # 129 bytes in UTF-8, 43 characters
        ("DPR", "\u0661", False),  # a digit, but not an ASCII one
        ("DPR", "1.\u0661", False),
        ("Range", "bytes=5-5", True),
        ("Range", f"bytes=0-{2**63 - 1}", True),  # Chromium's 64-bit positions
        ("Range", f"bytes=0-{2**63}", False),
        ("Range", f"bytes={2**63 - 1}-", True),
        ("Range", f"bytes={2**63}-", False),
        ("Range", f"bytes={2**63 - 1}-{2**63 - 1}", True),
    ],
)
def test_safelisted_request_header_edges(name: str, value: str, safe: bool) -> None:
    assert is_cors_safelisted_request_header(name, value) is safe


# Safelisted values of 1025 bytes in total, each within 128 bytes (Chromium's client hints help).
TOTAL_1025 = (
    ("Accept", "a" * 127),
    ("Accept-Language", "b" * 128),
    ("Content-Language", "c" * 128),
    ("Intervention", "d" * 128),
    ("DPR", "1" * 128),
    ("Device-Memory", "2" * 128),
    ("Width", "3" * 128),
    ("Viewport-Width", "4" * 128),
    ("Save-Data", "on"),
)


def test_safelisted_total_over_1024_bytes_makes_every_name_unsafe() -> None:
    assert cors_unsafe_request_header_names(TOTAL_1025) == sorted(n.lower() for n, _ in TOTAL_1025)
    assert cors_unsafe_request_header_names(TOTAL_1025[:-1]) == []  # 1023 bytes


# --- the requests fetch() sends -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("probe", "headers"),
    [
        (Probe(API, APP), (("Accept", "*/*"), ("Origin", APP))),
        (
            Probe(API, APP, "GET", (("accept", "application/json"),)),
            (("accept", "application/json"), ("Origin", APP)),
        ),
        (
            Probe(API, APP, "GET", (("Content-Language", "de"),)),
            (("Accept", "*/*"), ("Content-Language", "de"), ("Origin", APP)),
        ),
        # the page's origin as the browser serializes it
        (Probe(API, "https://App.Example.com:443"), (("Accept", "*/*"), ("Origin", APP))),
        # same-origin GET or HEAD: no Origin header; any other method carries it
        (Probe(API, SAME), (("Accept", "*/*"),)),
        (Probe(API, SAME, "HEAD"), (("Accept", "*/*"),)),
        (Probe(API, SAME, "POST"), (("Accept", "*/*"), ("Origin", SAME))),
    ],
    ids=[
        "default-accept",
        "own-accept",
        "accept-first",
        "serialized-origin",
        "same-origin",
        "same-origin-head",
        "same-origin-post",
    ],
)
def test_actual_request_headers(probe: Probe, headers: tuple[tuple[str, str], ...]) -> None:
    """The page's lines, then what Chromium adds: Fetch Metadata, the Referer, Accept-Language."""
    site = "same-origin" if probe.origin == SAME else "same-site"
    added = (
        ("Sec-Fetch-Site", site),
        ("Sec-Fetch-Mode", "cors"),
        ("Sec-Fetch-Dest", "empty"),
        ("Referer", probe.origin + "/"),
        ("Accept-Language", "en-US,en;q=0.9"),
    )
    assert next_request(probe, []) == ("actual", Request(probe.method, API, (*headers, *added)))


def test_the_preflight_carries_fetch_metadata_and_no_cookie() -> None:
    probe = Probe(API, "https://evil.example", "PUT", credentials="include", cookie="sid=1")
    request = next_request(probe, [])
    assert request is not None and request[0] == "preflight"
    lines = dict(request[1].headers)
    assert (lines["Sec-Fetch-Site"], lines["Sec-Fetch-Mode"], lines["Sec-Fetch-Dest"]) == (
        "cross-site",
        "cors",
        "empty",
    )
    assert lines["Referer"] == "https://evil.example/" and "Cookie" not in lines


@pytest.mark.parametrize(
    ("credentials", "origin", "sent"),
    [
        ("include", APP, True),
        ("omit", APP, False),
        ("same-origin", APP, False),
        ("same-origin", SAME, True),
    ],
)
def test_the_cookie_goes_where_the_credentials_mode_sends_credentials(
    credentials: str, origin: str, sent: bool
) -> None:
    probe = Probe(API, origin, credentials=credentials, cookie="sid=1")  # type: ignore[arg-type]
    request = next_request(probe, [])
    assert request is not None
    assert (("Cookie", "sid=1") in request[1].headers) is sent


def test_a_cookie_given_with_h_bypasses_the_model() -> None:
    probe = Probe(
        API, APP, credentials="include", cookie="sid=1", extra_headers=(("Cookie", "mine=2"),)
    )
    request = next_request(probe, [])
    assert request is not None
    assert [v for n, v in request[1].headers if n == "Cookie"] == ["mine=2"]


def test_advance_while_a_request_is_pending_is_not_allowed() -> None:
    for probe in (Probe(API, APP, "PUT"), Probe(API, APP)):
        outcome = advance(probe, [])
        assert outcome.next is not None and not outcome.verdict.allowed
    done = Exchange((Hop("actual", Request("GET", API, ()), resp(200, STAR)),))
    outcome = advance(Probe(API, APP), done.hops)
    assert outcome.next is None and outcome.verdict == judge(Probe(API, APP), done)
    assert outcome.verdict.allowed


def test_same_origin_reads_every_header() -> None:
    probe = Probe(API, SAME)
    exchange = run(probe, {API: [resp(200, ("X-Id", "1"), ("Set-Cookie", "a=b"), (" ETag", "x"))]})
    assert judge(probe, exchange).readable_headers == ("etag", "set-cookie", "x-id")


# --- the CORS check's messages (Chromium's console text) -----------------------------------------


@pytest.mark.parametrize(
    ("acao", "message"),
    [
        ("nope", "The 'Access-Control-Allow-Origin' header contains the invalid value 'nope'."),
        ("app.example.com", "contains the invalid value 'app.example.com'"),
        ("//app.example.com", "contains the invalid value '//app.example.com'"),  # no scheme
        ("https://other.example", "has a value 'https://other.example' that is not equal"),
        ("null", "has a value 'null' that is not equal"),
        ("mailto:x", "has a value 'mailto:x' that is not equal"),  # a scheme and a colon: a URL
        ("https:", "has a value 'https:' that is not equal"),
    ],
)
def test_cors_check_mismatch_messages(acao: str, message: str) -> None:
    failure = cors_check(resp(200, ("Access-Control-Allow-Origin", acao)), APP, "omit")
    assert failure is not None and failure[0] == "CHECK-ACAO-MATCH" and message in failure[1]


# --- network errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Content-Length", "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_LENGTH"),
        ("Content-Disposition", "net::ERR_RESPONSE_HEADERS_MULTIPLE_CONTENT_DISPOSITION"),
        ("Location", "net::ERR_RESPONSE_HEADERS_MULTIPLE_LOCATION"),
    ],
)
def test_disagreeing_duplicate_headers_are_a_network_error(name: str, message: str) -> None:
    probe = Probe(API, APP)
    exchange = run(probe, {API: [resp(200, STAR, (name, "1"), (name, "2"))]})
    verdict = judge(probe, exchange)
    assert (verdict.reason_id, verdict.reason, verdict.failed_step) == (
        "NET-DUPLICATE-HEADER",
        message,
        "actual",
    )


# --- redirects ------------------------------------------------------------------------------------


def test_a_location_without_a_redirect_status_is_not_followed() -> None:
    probe = Probe(API, APP)
    exchange = run(probe, {API: [resp(200, STAR, ("Location", NEXT))]})
    assert len(exchange.hops) == 1 and judge(probe, exchange).allowed


def test_a_redirect_without_a_location_is_the_response() -> None:
    probe = Probe(API, APP)
    exchange = run(probe, {API: [resp(302, STAR)]})
    assert len(exchange.hops) == 1 and judge(probe, exchange).allowed


def test_a_fragment_is_not_part_of_the_redirect_url() -> None:
    probe = Probe(API, APP)
    exchange = run(
        probe, {API: [resp(302, STAR, ("Location", "/v2/items#top"))], NEXT: [resp(200, STAR)]}
    )
    assert [h.request.url for h in exchange.hops] == [API, NEXT]


@pytest.mark.parametrize(
    ("location", "reason_id", "reason"),
    [
        ("https://api.example.com:99999/x", "RESP-REDIRECT", "is not a valid URL"),
        ("ftp://api.example.com/x", "RESP-REDIRECT", "has a disallowed scheme"),
        ("https://u:p@api.example.com/x", "RESP-REDIRECT", "contains a username and password"),
    ],
    ids=["bad-port", "ftp", "userinfo"],
)
def test_refused_redirects_fail_on_the_redirect_step(
    location: str, reason_id: str, reason: str
) -> None:
    probe = Probe(API, APP)
    verdict = judge(probe, run(probe, {API: [resp(302, STAR, ("Location", location))]}))
    assert (verdict.allowed, verdict.reason_id, verdict.failed_step) == (
        False,
        reason_id,
        "redirect",
    )
    assert verdict.reason is not None and reason in verdict.reason


def test_a_redirect_failing_the_cors_check_fails_on_the_redirect_step() -> None:
    probe = Probe(API, APP)
    verdict = judge(probe, run(probe, {API: [resp(302, ("Location", NEXT))]}))
    assert (verdict.reason_id, verdict.failed_step) == ("CHECK-ACAO-MISSING", "redirect")


def test_too_many_redirects() -> None:
    probe = Probe(API, APP)
    verdict = judge(probe, run(probe, {API: [resp(302, STAR, ("Location", API))] * 21}))
    assert (verdict.reason_id, verdict.reason, verdict.failed_step) == (
        "RESP-REDIRECT",
        "net::ERR_TOO_MANY_REDIRECTS",
        "redirect",
    )


BODY = (
    ("Content-Type", "text/plain"),
    ("Content-Encoding", "gzip"),
    ("Content-Language", "de"),
    ("Content-Location", "/x"),
    ("X-Keep", "1"),
)
KEPT = (("Accept", "*/*"), ("X-Keep", "1"))


@pytest.mark.parametrize(
    ("status", "method", "then", "headers"),
    [
        (301, "POST", "GET", KEPT),
        (302, "POST", "GET", KEPT),
        (303, "POST", "GET", KEPT),
        (303, "PUT", "GET", KEPT),
        (303, "GET", "GET", None),
        (303, "HEAD", "HEAD", None),
        (301, "PUT", "PUT", None),
        (302, "DELETE", "DELETE", None),
        (307, "POST", "POST", None),
        (308, "POST", "POST", None),
    ],
)
def test_redirect_method_and_body_headers(
    status: int, method: str, then: str, headers: tuple[tuple[str, str], ...] | None
) -> None:
    """301/302 turn POST into GET, 303 everything but GET and HEAD; the body headers go with the
    body. Same-origin, so that no preflight gets in the way."""
    probe = Probe(API, SAME, method, BODY)
    exchange = run(probe, {API: [resp(status, ("Location", NEXT))], NEXT: [resp(200)]})
    last = exchange.hops[-1].request
    assert last.method == then
    sent = tuple(
        (n, v)
        for n, v in last.headers
        if n != "Origin"
        and not n.startswith("Sec-Fetch-")
        and n not in ("Referer", "Accept-Language")
    )
    assert sent == (headers if headers is not None else (("Accept", "*/*"), *BODY))


# --- judging what was not sent or not answered ----------------------------------------------------


def test_an_unanswered_request_is_not_judged() -> None:
    for probe, kind, checked in (
        (Probe(API, APP, "PUT"), "preflight", True),
        (Probe(API, APP), "actual", False),
    ):
        verdict = judge(probe, Exchange())
        assert (verdict.allowed, verdict.judged, verdict.failed_step, verdict.actual_checked) == (
            False,
            False,
            kind,
            checked,
        )
        assert verdict.reason == f"the exchange ended before the browser's {kind} request to {API}"
        assert verdict.notes == ("incomplete exchange: not judged to its end",)


def test_an_unsent_same_origin_request_is_read_without_cors() -> None:
    probe = Probe(API, SAME, "DELETE")
    step = next_request(probe, [])
    assert step is not None and step[0] == "actual"
    verdict = judge(probe, Exchange((), unsent=step[1]))
    assert (verdict.allowed, verdict.preflight, verdict.actual_checked) == (True, False, False)


def test_an_unsent_simple_post_fails_on_the_actual_step() -> None:
    probe = Probe(API, APP, "POST")
    step = next_request(probe, [])
    assert step is not None
    verdict = judge(probe, Exchange((), unsent=step[1]))
    assert (verdict.failed_step, verdict.judged) == ("actual", False)


def test_set_cookie_lines_are_never_readable() -> None:
    lines = (
        STAR,
        ("Access-Control-Expose-Headers", "*"),
        ("Set-Cookie", "a=b"),
        ("Set-Cookie2", "c=d"),
    )
    probe = Probe(API, APP)
    verdict = judge(probe, run(probe, {API: [resp(200, *lines)]}))
    assert verdict.readable_headers == (
        "access-control-allow-origin",
        "access-control-expose-headers",
    )
