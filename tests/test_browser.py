"""The browser model (corscheck/browser.py): every rule of CORS-RULES.md, allowed and blocked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from corscheck.browser import (
    Credentials,
    Probe,
    Verdict,
    cors_check,
    cors_unsafe_request_header_names,
    is_cors_safelisted_method,
    is_cors_safelisted_request_header,
    is_forbidden_method,
    is_same_origin,
    judge,
    needs_preflight,
    next_request,
    normalize_method,
    readable_response_headers,
)
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList

API = "https://api.example.com/v1/items"
APP = "https://app.example.com"


def resp(status: int, *lines: str) -> Response:
    """A response from raw "Name: value" lines."""
    pairs = []
    for line in lines:
        name, _, value = line.partition(":")
        pairs.append((name, value))
    return Response(status, HeaderList.of(pairs))


# A site: URL (without query) -> (reply to OPTIONS, reply to anything else).
Site = Mapping[str, tuple[Response, Response]]
NOT_FOUND = resp(404)


def drive(probe: Probe, site: Site) -> Exchange:
    """Runs the fetch like the runner does: next_request with credentials "omit", every request
    answered by `site`, until the browser stops."""
    driver = Probe(
        probe.url, probe.origin, probe.method, probe.headers, "omit", probe.extra_headers
    )
    hops: list[Hop] = []
    while (step := next_request(driver, hops)) is not None:
        kind, request = step
        options, actual = site.get(request.url.split("?")[0], (NOT_FOUND, NOT_FOUND))
        hops.append(Hop(kind, request, options if kind == "preflight" else actual))
        assert len(hops) < 50
    return Exchange(tuple(hops))


@dataclass(frozen=True)
class Scenario:
    id: str
    allowed: bool
    preflight: bool
    reason_id: str | None = None
    probe: dict[str, Any] = field(default_factory=dict)
    options: tuple[str, ...] | None = None  # header lines of the preflight response (status 204)
    actual: tuple[str, ...] = ()
    ostatus: int = 204
    astatus: int = 200
    site: dict[str, tuple[Response, Response]] = field(default_factory=dict)
    readable: tuple[str, ...] | None = None  # expected Verdict.readable_headers, when given

    def run(self) -> Verdict:
        probe = Probe(**{"url": API, "origin": APP, **self.probe})
        opt = NOT_FOUND if self.options is None else resp(self.ostatus, *self.options)
        site = {API: (opt, resp(self.astatus, *self.actual)), **self.site}
        return judge(probe, drive(probe, site))


STAR = "Access-Control-Allow-Origin: *"
# Safelisted values of exactly 1024 bytes in total (REQ-SAFE-TOTAL needs Chromium's client hints).
FULL_1024 = (
    ("Accept", "a" * 128),
    ("Accept-Language", "b" * 128),
    ("Content-Language", "c" * 128),
    ("Content-Type", "text/plain;a=" + "d" * 115),
    ("Width", "1" * 128),
    ("Viewport-Width", "2" * 128),
    ("DPR", "3" * 128),
    ("Device-Memory", "4" * 128),
)
EXACT = f"Access-Control-Allow-Origin: {APP}"
CRED = "Access-Control-Allow-Credentials: true"
PUT = {"method": "PUT"}
INCLUDE: dict[str, Credentials] = {"credentials": "include"}
JSON = {"headers": (("Content-Type", "application/json"),)}
KEY = {"headers": (("X-Api-Key", "k"),)}
AUTH = {"headers": (("Authorization", "Bearer t"),)}

# Each rule id of CORS-RULES.md with a case that passes it and one that violates it (or, for rules
# that never block, one that shows it has no effect on the verdict).
RULE_SCENARIOS = [
    # REQ-METHOD-NORMALIZE
    Scenario(
        "REQ-METHOD-NORMALIZE",
        True,
        True,
        None,
        {"method": "put"},
        (STAR, "Access-Control-Allow-Methods: PUT"),
        (STAR,),
    ),
    Scenario(
        "REQ-METHOD-NORMALIZE",
        False,
        True,
        "PRE-METHOD",
        {"method": "patch"},
        (STAR, "Access-Control-Allow-Methods: PATCH"),
        (STAR,),
    ),
    Scenario(
        "REQ-METHOD-NORMALIZE",
        False,
        False,
        "REQ-METHOD-NORMALIZE",
        {"method": "TRACE"},
        (STAR,),
        (STAR,),
    ),
    # REQ-SAFE-METHOD
    Scenario("REQ-SAFE-METHOD", True, False, None, {"method": "post"}, None, (STAR,)),
    Scenario(
        "REQ-SAFE-METHOD", False, True, "CHECK-ACAO-MISSING", {"method": "DELETE"}, None, (STAR,)
    ),
    # REQ-SAFE-HEADER
    Scenario(
        "REQ-SAFE-HEADER",
        True,
        False,
        None,
        {"headers": (("Content-Type", "text/plain;charset=utf-8"),)},
        None,
        (STAR,),
    ),
    Scenario("REQ-SAFE-HEADER", False, True, "CHECK-ACAO-MISSING", JSON, None, (STAR,)),
    Scenario(
        "REQ-SAFE-HEADER",
        False,
        True,
        "CHECK-ACAO-MISSING",
        {"headers": (("Accept", "a" * 129),)},
        None,
        (STAR,),
    ),
    Scenario(
        "REQ-SAFE-HEADER", True, False, None, {"headers": (("Range", "bytes=0-"),)}, None, (STAR,)
    ),
    Scenario(
        "REQ-SAFE-HEADER",
        False,
        True,
        "CHECK-ACAO-MISSING",
        {"headers": (("Range", "bytes=-5"),)},
        None,
        (STAR,),
    ),
    # REQ-SAFE-TOTAL (only reachable with Chromium's extra safelisted client hints)
    Scenario(
        "REQ-SAFE-TOTAL",
        True,
        False,
        None,
        {"headers": (("Accept", "a" * 128), ("Width", "1" * 128))},
        None,
        (STAR,),
    ),
    Scenario(
        "REQ-SAFE-TOTAL",
        False,
        True,
        "CHECK-ACAO-MISSING",
        {"headers": (*FULL_1024, ("Range", "bytes=0-"))},
        None,
        (STAR,),
    ),
    # REQ-FORBIDDEN-HEADER: dropped silently, so they cannot trigger a preflight
    Scenario(
        "REQ-FORBIDDEN-HEADER",
        True,
        False,
        None,
        {"headers": (("Cookie", "a=b"), ("Sec-X", "1"))},
        None,
        (STAR,),
    ),
    Scenario(
        "REQ-FORBIDDEN-HEADER",
        False,
        False,
        "REQ-FORBIDDEN-HEADER",
        {"headers": (("X-A", "a\nb"),)},
        None,
        (STAR,),
    ),
    # REQ-PREFLIGHT-NEEDED
    Scenario(
        "REQ-PREFLIGHT-NEEDED",
        True,
        False,
        None,
        {"url": "https://app.example.com/x", "method": "PUT", **KEY},
        None,
        (),
    ),
    Scenario("REQ-PREFLIGHT-NEEDED", False, True, "CHECK-ACAO-MISSING", KEY, None, (STAR,)),
    # REQ-PREFLIGHT-SHAPE (the request itself is asserted below; here: the preflight is judged)
    Scenario(
        "REQ-PREFLIGHT-SHAPE",
        True,
        True,
        None,
        KEY,
        (STAR, "Access-Control-Allow-Headers: x-api-key"),
        (STAR,),
    ),
    Scenario(
        "REQ-PREFLIGHT-SHAPE",
        False,
        True,
        "PRE-HEADERS",
        KEY,
        (STAR, "Access-Control-Allow-Headers: x-api-key-2"),
        (STAR,),
    ),
    # REQ-ORIGIN-SERIALIZE: the serialized origin is compared byte for byte
    Scenario(
        "REQ-ORIGIN-SERIALIZE",
        True,
        False,
        None,
        {"origin": "https://xn--bcher-kva.example"},
        None,
        ("Access-Control-Allow-Origin: https://xn--bcher-kva.example",),
    ),
    Scenario(
        "REQ-ORIGIN-SERIALIZE",
        False,
        False,
        "CHECK-ACAO-MATCH",
        {"origin": "https://xn--bcher-kva.example"},
        None,
        ("Access-Control-Allow-Origin: https://bücher.example",),
    ),
    # CHECK-ACAO-MISSING
    Scenario("CHECK-ACAO-MISSING", True, False, None, {}, None, (EXACT,)),
    Scenario("CHECK-ACAO-MISSING", False, False, "CHECK-ACAO-MISSING", {}, None, ("Vary: Origin",)),
    # CHECK-ACAO-MULTIPLE
    Scenario(
        "CHECK-ACAO-MULTIPLE",
        True,
        False,
        None,
        {},
        None,
        (EXACT, "access-control-allow-credentials: true"),
    ),
    Scenario("CHECK-ACAO-MULTIPLE", False, False, "CHECK-ACAO-MULTIPLE", {}, None, (EXACT, EXACT)),
    # CHECK-ACAO-WILDCARD
    Scenario(
        "CHECK-ACAO-WILDCARD", True, False, None, {"credentials": "same-origin"}, None, (STAR,)
    ),
    Scenario("CHECK-ACAO-WILDCARD", False, False, "CHECK-ACAO-MULTIPLE", {}, None, (STAR, STAR)),
    # CHECK-ACAO-WILDCARD-CREDENTIALS
    Scenario("CHECK-ACAO-WILDCARD-CREDENTIALS", True, False, None, INCLUDE, None, (EXACT, CRED)),
    Scenario(
        "CHECK-ACAO-WILDCARD-CREDENTIALS",
        False,
        False,
        "CHECK-ACAO-WILDCARD-CREDENTIALS",
        INCLUDE,
        None,
        (STAR, CRED),
    ),
    # CHECK-ACAO-MATCH
    Scenario(
        "CHECK-ACAO-MATCH",
        True,
        False,
        None,
        {},
        None,
        (f"Access-Control-Allow-Origin:  {APP} \t",),
    ),
    Scenario(
        "CHECK-ACAO-MATCH",
        False,
        False,
        "CHECK-ACAO-MATCH",
        {},
        None,
        (f"Access-Control-Allow-Origin: {APP}/",),
    ),
    Scenario(
        "CHECK-ACAO-MATCH",
        False,
        False,
        "CHECK-ACAO-MATCH",
        {},
        None,
        ("Access-Control-Allow-Origin: https://App.example.com",),
    ),
    Scenario(
        "CHECK-ACAO-MATCH",
        False,
        False,
        "CHECK-ACAO-MATCH",
        {},
        None,
        ("Access-Control-Allow-Origin: https://app.example.com:443",),
    ),
    Scenario(
        "CHECK-ACAO-MATCH",
        True,
        False,
        None,
        {"origin": "null"},
        None,
        ("Access-Control-Allow-Origin: null",),
    ),
    Scenario(
        "CHECK-ACAO-MATCH",
        False,
        False,
        "CHECK-ACAO-MATCH",
        {},
        None,
        ("Access-Control-Allow-Origin: null",),
    ),
    # CHECK-ACAC
    Scenario("CHECK-ACAC", True, False, None, INCLUDE, None, (EXACT, CRED)),
    Scenario(
        "CHECK-ACAC",
        False,
        False,
        "CHECK-ACAC",
        INCLUDE,
        None,
        (EXACT, "Access-Control-Allow-Credentials: True"),
    ),
    Scenario(
        "CHECK-ACAC",
        True,
        False,
        None,
        {"credentials": "omit"},
        None,
        (EXACT, "Access-Control-Allow-Credentials: nope"),
    ),
    # CHECK-STATUS-IGNORED
    Scenario("CHECK-STATUS-IGNORED", True, False, None, {}, None, (STAR,), astatus=500),
    Scenario("CHECK-STATUS-IGNORED", False, False, "CHECK-ACAO-MISSING", {}, None, (), astatus=200),
    # PRE-OK-STATUS
    Scenario(
        "PRE-OK-STATUS",
        True,
        True,
        None,
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT"),
        (STAR,),
        ostatus=299,
    ),
    Scenario(
        "PRE-OK-STATUS",
        False,
        True,
        "PRE-OK-STATUS",
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT"),
        (STAR,),
        ostatus=403,
    ),
    # PRE-REDIRECT
    Scenario(
        "PRE-REDIRECT",
        True,
        True,
        None,
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT", "Location: /x"),
        (STAR,),
        ostatus=200,
    ),
    Scenario(
        "PRE-REDIRECT",
        False,
        True,
        "PRE-REDIRECT",
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT", "Location: /x"),
        (STAR,),
        ostatus=302,
    ),
    # PRE-PARSE
    Scenario(
        "PRE-PARSE",
        True,
        True,
        None,
        PUT,
        (STAR, "Access-Control-Allow-Methods: , GET ,,PUT,"),
        (STAR,),
    ),
    Scenario(
        "PRE-PARSE",
        False,
        True,
        "PRE-PARSE",
        PUT,
        (STAR, "Access-Control-Allow-Methods: GET PUT"),
        (STAR,),
    ),
    Scenario(
        "PRE-PARSE",
        False,
        True,
        "PRE-PARSE",
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT", "Access-Control-Allow-Headers: x(y)"),
        (STAR,),
    ),
    # PRE-METHOD
    Scenario(
        "PRE-METHOD", True, True, None, PUT, (STAR, "Access-Control-Allow-Methods: *"), (STAR,)
    ),
    Scenario(
        "PRE-METHOD",
        False,
        True,
        "PRE-METHOD",
        {**PUT, **INCLUDE},
        (EXACT, CRED, "Access-Control-Allow-Methods: *"),
        (EXACT, CRED),
    ),
    Scenario(
        "PRE-METHOD",
        False,
        True,
        "PRE-METHOD",
        PUT,
        (STAR, "Access-Control-Allow-Methods: put"),
        (STAR,),
    ),
    Scenario(
        "PRE-METHOD",
        True,
        True,
        None,
        {"method": "GET", **KEY},
        (STAR, "Access-Control-Allow-Methods: get", "Access-Control-Allow-Headers: x-api-key"),
        (STAR,),
    ),
    # PRE-HEADERS
    Scenario(
        "PRE-HEADERS",
        True,
        True,
        None,
        KEY,
        (STAR, "Access-Control-Allow-Headers: X-API-KEY"),
        (STAR,),
    ),
    Scenario(
        "PRE-HEADERS",
        False,
        True,
        "PRE-HEADERS",
        {**KEY, **INCLUDE},
        (EXACT, CRED, "Access-Control-Allow-Headers: *"),
        (EXACT, CRED),
    ),
    # PRE-AUTHORIZATION: Chromium 156 lets `*` cover Authorization without credentials
    Scenario(
        "PRE-AUTHORIZATION",
        True,
        True,
        None,
        AUTH,
        (STAR, "Access-Control-Allow-Headers: *"),
        (STAR,),
    ),
    Scenario(
        "PRE-AUTHORIZATION",
        False,
        True,
        "PRE-HEADERS",
        {**AUTH, **INCLUDE},
        (EXACT, CRED, "Access-Control-Allow-Headers: *"),
        (EXACT, CRED),
    ),
    # PRE-MAX-AGE: hygiene only, never changes a verdict
    Scenario(
        "PRE-MAX-AGE",
        True,
        True,
        None,
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT", "Access-Control-Max-Age: -1"),
        (STAR,),
    ),
    Scenario(
        "PRE-MAX-AGE",
        False,
        True,
        "PRE-METHOD",
        PUT,
        (STAR, "Access-Control-Max-Age: 86400"),
        (STAR,),
    ),
    # PRE-PRIVATE-NETWORK: audited as policy; the verdict ignores the header
    Scenario(
        "PRE-PRIVATE-NETWORK",
        True,
        True,
        None,
        PUT,
        (STAR, "Access-Control-Allow-Methods: PUT"),
        (STAR,),
    ),
    Scenario(
        "PRE-PRIVATE-NETWORK",
        False,
        True,
        "PRE-METHOD",
        PUT,
        (STAR, "Access-Control-Allow-Private-Network: true"),
        (STAR,),
    ),
    # RESP-EXPOSE: safelisted response headers plus Access-Control-Expose-Headers
    Scenario(
        "RESP-EXPOSE",
        True,
        False,
        None,
        {},
        None,
        (
            STAR,
            "Access-Control-Expose-Headers: x-id",
            "X-Id: 1",
            "X-No: 2",
            "Content-Type: text/plain",
        ),
        readable=("content-type", "x-id"),
    ),
    Scenario(
        "RESP-EXPOSE",
        True,
        False,
        None,
        INCLUDE,
        None,
        (EXACT, CRED, "Access-Control-Expose-Headers: *", "X-Id: 1"),
        readable=(),
    ),
    Scenario(
        "RESP-EXPOSE",
        False,
        False,
        "CHECK-ACAO-MISSING",
        {},
        None,
        ("Access-Control-Expose-Headers: *", "X-Id: 1"),
        readable=(),
    ),
    # RESP-VARY: a caching rule; the verdict ignores Vary
    Scenario("RESP-VARY", True, False, None, {}, None, (EXACT, "Vary: Origin")),
    Scenario("RESP-VARY", False, False, "CHECK-ACAO-MISSING", {}, None, ("Vary: Origin",)),
]

REDIRECT = "https://api.example.com/v2/items"
OTHER = "https://other.example.net/items"


def _redirect_site(
    location: str, final: tuple[str, ...], hop: tuple[str, ...] = (STAR,), status: int = 302
) -> dict[str, tuple[Response, Response]]:
    return {
        API: (NOT_FOUND, resp(status, f"Location: {location}", *hop)),
        location.split("#")[0]: (NOT_FOUND, resp(200, *final)),
    }


RULE_SCENARIOS += [
    # RESP-REDIRECT
    Scenario("RESP-REDIRECT", True, False, None, site=_redirect_site(REDIRECT, (STAR,))),
    Scenario(
        "RESP-REDIRECT",
        False,
        False,
        "CHECK-ACAO-MISSING",
        site=_redirect_site(REDIRECT, (STAR,), hop=()),
    ),
    Scenario(
        "RESP-REDIRECT",
        False,
        False,
        "RESP-REDIRECT",
        site=_redirect_site("ftp://api.example.com/x", (STAR,)),
    ),
    Scenario(
        "RESP-REDIRECT",
        False,
        False,
        "RESP-REDIRECT",
        site=_redirect_site("https://u:p@api.example.com/x", (STAR,)),
    ),
    # RESP-REDIRECT-TAINT
    Scenario(
        "RESP-REDIRECT-TAINT",
        True,
        False,
        None,
        site=_redirect_site(OTHER, ("Access-Control-Allow-Origin: null",)),
    ),
    Scenario(
        "RESP-REDIRECT-TAINT",
        False,
        False,
        "CHECK-ACAO-MATCH",
        site=_redirect_site(OTHER, (EXACT,)),
    ),
    Scenario("RESP-REDIRECT-TAINT", True, False, None, site=_redirect_site(REDIRECT, (EXACT,))),
]


@pytest.mark.parametrize(
    "scenario",
    RULE_SCENARIOS,
    ids=[
        f"{s.id}-{'allowed' if s.allowed else 'blocked'}-{i}" for i, s in enumerate(RULE_SCENARIOS)
    ],
)
def test_rule(scenario: Scenario) -> None:
    verdict = scenario.run()
    assert (verdict.allowed, verdict.preflight, verdict.reason_id) == (
        scenario.allowed,
        scenario.preflight,
        scenario.reason_id,
    ), verdict
    if not verdict.allowed:
        assert verdict.reason and verdict.failed_step
        assert verdict.readable_headers == ()
    if scenario.readable is not None:
        assert verdict.readable_headers == scenario.readable


def test_every_rule_id_has_an_allowed_and_a_blocked_case() -> None:
    import re

    from tests.required import shared_document

    digest = shared_document("CORS-RULES.md")
    ids = set(re.findall(r"^\*\*([A-Z]+(?:-[A-Z0-9]+)+)\*\*", digest.read_text(), re.M))
    covered_allowed = {s.id for s in RULE_SCENARIOS if s.allowed}
    covered_blocked = {s.id for s in RULE_SCENARIOS if not s.allowed}
    assert ids <= covered_allowed, ids - covered_allowed
    assert ids <= covered_blocked, ids - covered_blocked


# --- Section E of CORS-RULES.md: cases every implementation must get right ---


def test_e_text_plain_no_preflight_json_preflight() -> None:
    plain = Probe(API, APP, "GET", (("Content-Type", "text/plain"),))
    json = Probe(API, APP, "GET", (("Content-Type", "application/json"),))
    assert not needs_preflight(plain)
    assert needs_preflight(json)
    step = next_request(json, [])
    assert step is not None and step[0] == "preflight"
    assert ("Access-Control-Request-Headers", "content-type") in step[1].headers


@pytest.mark.parametrize(
    ("acam", "allowed"), [("PATCH", False), ("patch", True)], ids=["PATCH", "patch"]
)
def test_e_lowercase_patch(acam: str, allowed: bool) -> None:
    probe = Probe(API, APP, "patch")
    step = next_request(probe, [])
    assert step is not None and ("Access-Control-Request-Method", "patch") in step[1].headers
    site = {API: (resp(204, STAR, f"Access-Control-Allow-Methods: {acam}"), resp(200, STAR))}
    assert judge(probe, drive(probe, site)).allowed is allowed


def test_e_accept_129_bytes_preflight() -> None:
    assert needs_preflight(Probe(API, APP, headers=(("Accept", "a" * 129),)))
    assert not needs_preflight(Probe(API, APP, headers=(("Accept", "a" * 128),)))


def test_e_include_star_blocked_even_with_acac() -> None:
    v = Scenario("e", False, False, probe=dict(INCLUDE), actual=(STAR, CRED)).run()
    assert v.reason_id == "CHECK-ACAO-WILDCARD-CREDENTIALS"


def test_e_include_acac_True_blocked() -> None:
    v = Scenario(
        "e",
        False,
        False,
        probe=dict(INCLUDE),
        actual=(EXACT, "Access-Control-Allow-Credentials: True"),
    ).run()
    assert (v.allowed, v.reason_id) == (False, "CHECK-ACAC")


def test_e_acao_spaces_match() -> None:
    assert (
        Scenario("e", True, False, actual=(f"Access-Control-Allow-Origin:  {APP} ",)).run().allowed
    )


def test_e_two_identical_acao_lines_blocked() -> None:
    v = Scenario("e", False, False, actual=(EXACT, EXACT)).run()
    assert v.reason_id == "CHECK-ACAO-MULTIPLE"
    assert f"'{APP}, {APP}'" in (v.reason or "")


@pytest.mark.parametrize(
    ("acah", "credentials", "allowed"),
    [
        ("*", "omit", True),
        ("*, Authorization", "omit", True),
        ("*, Authorization", "include", True),
        ("*", "include", False),
    ],
    ids=["star-omit", "star-and-name-omit", "star-and-name-include", "star-include"],
)
def test_e_authorization(acah: str, credentials: Credentials, allowed: bool) -> None:
    origin = STAR if credentials == "omit" else EXACT
    probe = Probe(API, APP, headers=(("Authorization", "Bearer x"),), credentials=credentials)
    site = {
        API: (
            resp(204, origin, CRED, f"Access-Control-Allow-Headers: {acah}"),
            resp(200, origin, CRED),
        )
    }
    assert judge(probe, drive(probe, site)).allowed is allowed


@pytest.mark.parametrize(
    ("status", "allowed"), [(204, True), (302, False), (403, False)], ids=["204", "302", "403"]
)
def test_e_preflight_status(status: int, allowed: bool) -> None:
    lines = (
        STAR,
        "Access-Control-Allow-Methods: PUT",
        "Access-Control-Allow-Headers: *",
        "Location: /elsewhere",
    )
    v = Scenario(
        "e", allowed, True, probe=dict(PUT), options=lines, actual=(STAR,), ostatus=status
    ).run()
    assert v.allowed is allowed
    if not allowed:
        assert v.failed_step == "preflight"
        assert v.reason_id == ("PRE-REDIRECT" if status == 302 else "PRE-OK-STATUS")


def test_e_preflight_passes_actual_lacks_acao() -> None:
    v = Scenario(
        "e",
        False,
        True,
        probe=dict(PUT),
        options=(STAR, "Access-Control-Allow-Methods: PUT"),
        actual=(),
    ).run()
    assert (v.allowed, v.failed_step, v.reason_id) == (False, "actual", "CHECK-ACAO-MISSING")


def test_e_starlette_reflects_any_origin_with_credentials() -> None:
    for origin in ("https://evil.example", "null", "https://app.example.com.attacker.example"):
        probe = Probe(API, origin, credentials="include")
        site = {API: (NOT_FOUND, resp(200, f"Access-Control-Allow-Origin: {origin}", CRED))}
        assert judge(probe, drive(probe, site)).allowed


# --- The pure helpers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "normalized"),
    [
        ("get", "GET"),
        ("Post", "POST"),
        ("delete", "DELETE"),
        ("options", "OPTIONS"),
        ("hEaD", "HEAD"),
        ("put", "PUT"),
        ("patch", "patch"),
        ("Patch", "Patch"),
        ("PATCH", "PATCH"),
        ("foo", "foo"),
        ("ſet", "ſet"),
    ],
    ids=lambda v: repr(v),
)
def test_normalize_method(method: str, normalized: str) -> None:
    assert normalize_method(method) == normalized


def test_methods() -> None:
    assert all(is_forbidden_method(m) for m in ("CONNECT", "trace", "Track"))
    assert not any(is_forbidden_method(m) for m in ("GET", "PATCH", "TRACES"))
    assert all(is_cors_safelisted_method(m) for m in ("GET", "HEAD", "POST"))
    assert not any(is_cors_safelisted_method(m) for m in ("get", "PUT", "OPTIONS"))


@pytest.mark.parametrize(
    ("name", "value", "safe"),
    [
        ("Accept", "*/*", True),
        ("Accept", "text/html(", False),
        ("Accept", "a\tb", True),
        ("Accept", "", True),
        ("accept-language", "en-US,en;q=0.9", True),
        ("Accept-Language", "en_US", False),
        ("Content-Language", "de-DE", True),
        ("Content-Language", "de/DE", False),
        ("Content-Type", "text/plain", True),
        ("Content-Type", "TEXT/Plain; charset=utf-8", True),
        ("Content-Type", "multipart/form-data; boundary=x", True),
        ("Content-Type", "application/x-www-form-urlencoded", True),
        ("Content-Type", "application/json", False),
        ("Content-Type", 'text/plain; charset="utf-8"', False),
        ("Content-Type", "text /plain", False),
        ("Content-Type", "text/ plain", False),
        ("Content-Type", "text/plain ;a=b", True),
        ("Content-Type", "", False),
        ("Content-Type", "text/plain/x", False),
        ("Range", "bytes=0-", True),
        ("Range", "bytes=10-20", True),
        ("Range", "bytes=20-10", False),
        ("Range", "bytes=-5", False),
        ("Range", "bytes=0-1,2-3", False),
        ("Range", "Bytes=0-", False),
        ("Range", "bytes=99999999999999999999-", False),
        ("DPR", "2.0", True),
        ("DPR", "2.", False),
        ("Width", "100", True),
        ("Viewport-Width", "1.0", False),
        ("Device-Memory", "0.5", True),
        ("Save-Data", "ON", True),
        ("Save-Data", "off", False),
        ("Intervention", "<x>", True),
        ("Lang", "en", False),
        ("X-Api-Key", "k", False),
        ("Accept", "a" * 128, True),
        ("Accept", "a" * 129, False),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 40 else None,
)
def test_safelisted_request_header(name: str, value: str, safe: bool) -> None:
    assert is_cors_safelisted_request_header(name, value) is safe


def test_unsafe_names_sorted_deduplicated_and_total() -> None:
    headers = (
        ("X-B", "1"),
        ("x-a", "2"),
        ("X-A", "3"),
        ("Content-Type", "application/json"),
        ("Accept", "x"),
    )
    assert cors_unsafe_request_header_names(headers) == ["content-type", "x-a", "x-b"]
    assert cors_unsafe_request_header_names((("Cookie", "a"), ("Origin", "x"))) == []
    # duplicates combine before the 128-byte check: 100 + ", " + 30 > 128
    assert cors_unsafe_request_header_names((("Accept", "a" * 100), ("Accept", "b" * 30))) == [
        "accept"
    ]
    big = FULL_1024
    assert cors_unsafe_request_header_names(big) == []  # exactly 1024 bytes
    over = cors_unsafe_request_header_names((*big, ("Range", "bytes=0-")))
    assert over == sorted(n.lower() for n, _ in (*big, ("Range", "")))


def test_preflight_shape() -> None:
    probe = Probe(
        API,
        APP,
        "put",
        (("X-B", "1"), ("X-A", "2"), ("Accept", "*/*")),
        "include",
        extra_headers=(("Authorization", "Basic abc"),),
    )
    step = next_request(probe, [])
    assert step is not None
    kind, request = step
    assert kind == "preflight"
    assert request == Request(
        "OPTIONS",
        API,
        (
            ("Accept", "*/*"),
            ("Origin", APP),
            ("Access-Control-Request-Method", "PUT"),
            ("Access-Control-Request-Headers", "x-a,x-b"),
            # Added by Chromium to every request of a fetch(), preflights included.
            ("Sec-Fetch-Site", "same-site"),
            ("Sec-Fetch-Mode", "cors"),
            ("Sec-Fetch-Dest", "empty"),
            ("Referer", APP + "/"),
            ("Accept-Language", "en-US,en;q=0.9"),
            ("Authorization", "Basic abc"),
        ),
    )
    hop = Hop(
        "preflight",
        request,
        resp(
            204,
            EXACT,
            CRED,
            "Access-Control-Allow-Methods: PUT",
            "Access-Control-Allow-Headers: x-a, x-b",
        ),
    )
    step = next_request(probe, [hop])
    assert step is not None and step[0] == "actual"
    assert step[1].method == "PUT"
    assert ("Origin", APP) in step[1].headers and ("X-A", "2") in step[1].headers
    assert ("Authorization", "Basic abc") in step[1].headers


def test_same_origin_get_sends_no_origin_header() -> None:
    probe = Probe("https://app.example.com/x", APP)
    step = next_request(probe, [])
    assert step is not None and step[0] == "actual"
    assert all(n != "Origin" for n, _ in step[1].headers)


def test_is_same_origin() -> None:
    assert is_same_origin(Probe(API, "https://api.example.com"), "https://API.example.com:443/x")
    assert not is_same_origin(Probe(API, "https://api.example.com"), "http://api.example.com/x")
    assert not is_same_origin(Probe(API, "null"), API)
    assert not is_same_origin(Probe(API, APP), "not a url")


def test_cors_check_messages() -> None:
    assert cors_check(resp(200, STAR), APP, "omit") is None
    result = cors_check(resp(200, STAR), APP, "include")
    assert result is not None and result[1].startswith(
        "The value of the 'Access-Control-Allow-Origin'"
    )
    result = cors_check(resp(200, "Access-Control-Allow-Origin: nope"), APP, "omit")
    assert result is not None and (result.reason_id, result.message) == (
        "CHECK-ACAO-MATCH",
        "The 'Access-Control-Allow-Origin' header contains the invalid value 'nope'.",
    )


def test_preflight_reason_text_has_chromium_prefix() -> None:
    v = Scenario(
        "x",
        False,
        True,
        "CHECK-ACAO-MISSING",
        dict(PUT),
        ("Access-Control-Allow-Methods: PUT",),
        (STAR,),
    ).run()
    assert v.reason == (
        "Response to preflight request doesn't pass access control check: "
        "No 'Access-Control-Allow-Origin' header is present on the requested resource."
    )


@pytest.mark.parametrize(
    ("lines", "credentials", "readable"),
    [
        (
            (STAR, "Content-Type: text/plain", "X-Id: 1", "Set-Cookie: a=b"),
            "omit",
            ("content-type",),
        ),
        (
            (STAR, "Access-Control-Expose-Headers: X-Id", "X-Id: 1", "X-Other: 2"),
            "omit",
            ("access-control-expose-headers", "x-id")[1:],
        ),
        (
            (STAR, "Access-Control-Expose-Headers: *", "X-Id: 1", "Set-Cookie: a=b"),
            "omit",
            ("access-control-allow-origin", "access-control-expose-headers", "x-id"),
        ),
        ((EXACT, "Access-Control-Expose-Headers: *", "X-Id: 1"), "include", ()),
        ((EXACT, "Access-Control-Expose-Headers: *, x-id", "X-Id: 1"), "include", ("x-id",)),
    ],
    ids=["safelisted-only", "named", "star", "star-include", "star-and-name-include"],
)
def test_readable_response_headers(
    lines: tuple[str, ...], credentials: Credentials, readable: tuple[str, ...]
) -> None:
    assert readable_response_headers(resp(200, *lines), credentials) == readable


def test_judge_unsent_actual_rests_on_preflight() -> None:
    probe = Probe(API, APP, "DELETE")
    preflight = next_request(probe, [])
    assert preflight is not None
    hop = Hop("preflight", preflight[1], resp(204, STAR, "Access-Control-Allow-Methods: DELETE"))
    actual = next_request(probe, [hop])
    assert actual is not None and actual[0] == "actual"
    verdict = judge(probe, Exchange((hop,), unsent=actual[1]))
    assert (verdict.allowed, verdict.preflight, verdict.actual_checked) == (True, True, False)
    assert any("not checked" in note for note in verdict.notes)
    refused = Hop("preflight", preflight[1], resp(204, STAR))
    verdict = judge(probe, Exchange((refused,), unsent=actual[1]))
    assert (verdict.allowed, verdict.reason_id) == (False, "PRE-METHOD")


def test_judge_unsent_simple_post_is_not_shown_readable() -> None:
    probe = Probe(API, APP, "POST")
    step = next_request(probe, [])
    assert step is not None and step[0] == "actual"
    verdict = judge(probe, Exchange((), unsent=step[1]))
    assert (verdict.allowed, verdict.preflight, verdict.actual_checked) == (False, False, False)
    assert verdict.reason_id is None and verdict.notes


def test_judge_stops_at_first_failing_hop_for_include() -> None:
    # The runner records the chain with "omit"; "include" fails on the first hop already.
    probe = Probe(API, APP, "PUT", credentials="include")
    site = {API: (resp(204, STAR, "Access-Control-Allow-Methods: PUT"), resp(200, STAR))}
    exchange = drive(probe, site)
    assert [h.kind for h in exchange.hops] == ["preflight", "actual"]
    verdict = judge(probe, exchange)
    assert (verdict.allowed, verdict.failed_step, verdict.reason_id) == (
        False,
        "preflight",
        "CHECK-ACAO-WILDCARD-CREDENTIALS",
    )


def test_incomplete_exchange_is_not_allowed() -> None:
    verdict = judge(Probe(API, APP, "PUT"), Exchange())
    assert not verdict.allowed and verdict.preflight


def test_redirect_limit() -> None:
    site = {
        f"{API}/{i}": (NOT_FOUND, resp(302, STAR, f"Location: {API}/{i + 1}")) for i in range(30)
    }
    for count, allowed in ((20, True), (21, False)):
        probe = Probe(f"{API}/0", APP)
        local = dict(site)
        local[f"{API}/{count}"] = (NOT_FOUND, resp(200, STAR))
        verdict = judge(probe, drive(probe, local))
        assert verdict.allowed is allowed, count


def test_redirect_303_drops_method_and_body_headers() -> None:
    probe = Probe(API, APP, "POST", (("Content-Type", "application/json"),))
    site = {
        API: (
            resp(204, STAR, "Access-Control-Allow-Headers: content-type"),
            resp(303, STAR, f"Location: {REDIRECT}"),
        ),
        REDIRECT: (NOT_FOUND, resp(200, STAR)),
    }
    exchange = drive(probe, site)
    assert [(h.kind, h.request.method) for h in exchange.hops] == [
        ("preflight", "OPTIONS"),
        ("actual", "POST"),
        ("actual", "GET"),
    ]
    assert all(n.lower() != "content-type" for n, _ in exchange.hops[-1].request.headers)
    assert judge(probe, exchange).allowed


def test_tainted_preflight_sends_origin_null() -> None:
    probe = Probe(API, APP, "PUT")
    site = {
        API: (
            resp(204, STAR, "Access-Control-Allow-Methods: PUT"),
            resp(307, STAR, f"Location: {OTHER}"),
        ),
        OTHER: (
            resp(204, "Access-Control-Allow-Origin: null", "Access-Control-Allow-Methods: PUT"),
            resp(200, "Access-Control-Allow-Origin: null"),
        ),
    }
    exchange = drive(probe, site)
    assert [h.kind for h in exchange.hops] == ["preflight", "actual", "preflight", "actual"]
    assert ("Origin", "null") in exchange.hops[2].request.headers
    assert judge(probe, exchange).allowed


def test_duplicate_content_length_is_a_network_error() -> None:
    v = Scenario("x", False, False, actual=(STAR, "Content-Length: 1", "Content-Length: 2")).run()
    assert v.reason_id == "NET-DUPLICATE-HEADER"
    assert (
        Scenario("x", True, False, actual=(STAR, "Content-Length: 1", "Content-Length: 1"))
        .run()
        .allowed
    )


def test_cors_server_fixture_replays_raw_lines(cors_server: Any) -> None:
    """The shared test server answers with the exact scripted lines and records requests."""
    import http.client

    from tests.cors_server import Reply

    cors_server.route(
        "/x", options=Reply(204, ["access-control-allow-origin:  {origin} ", STAR, STAR])
    )
    conn = http.client.HTTPConnection("127.0.0.1", cors_server.port, timeout=5)
    conn.request("OPTIONS", "/x?u=1", headers={"Origin": APP})
    answer = conn.getresponse()
    assert answer.status == 204
    assert answer.msg.get_all("Access-Control-Allow-Origin") == [APP + " ", "*", "*"]
    conn.close()
    (recorded,) = cors_server.requests_for("/x")
    assert (recorded.method, recorded.target, recorded.header("origin")) == (
        "OPTIONS",
        "/x?u=1",
        APP,
    )
