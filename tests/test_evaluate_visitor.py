"""evaluate() in the visitor's context, on plain data (issue 23): which of the visitor's cookies each
browser profile attaches decides what the server answers, which origins read with them, the
finding's evidence and severity, and each finding's exposure per profile.

The servers branch as real ones do: on the Cookie (Starlette up to 0.52, a session API) and on
Sec-Fetch-Site (a Fetch Metadata isolation policy). Requests come from the browser model, verdicts
from browser.judge, as in test_evaluate.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from corscheck.evaluate import Exposure, Finding, evaluate, exposure_lines
from corscheck.evaluate.exposure import with_address_space
from corscheck.exchange import Request, Response
from corscheck.plan import plan_target
from corscheck.policy import Policy, build_policy
from corscheck.visitor import Profile, Visitor, fetch_site, parse_cookie, visitor_of
from tests.test_evaluate import APP, EVIL, URL, by_rule, headers, results_for

NONE_SESSION = parse_cookie("session=abc123; SameSite=None; Secure")
LAX_SESSION = parse_cookie("session=abc123; SameSite=Lax; Secure")


def _header(request: Request, name: str) -> str | None:
    return next((v for n, v in request.headers if n.lower() == name), None)


def _logged_in(request: Request) -> bool:
    pairs = (_header(request, "cookie") or "").split("; ")
    return any(pair.split("=", 1)[0] == "session" for pair in pairs)


def reflect_any(request: Request) -> Response:
    """Reflects every Origin with credentials; the user's data with the session, 401 without."""
    origin = _header(request, "origin") or ""
    lines = [
        f"Access-Control-Allow-Origin: {origin}",
        "Access-Control-Allow-Credentials: true",
        "Vary: Origin",
    ]
    if request.method == "OPTIONS":
        return Response(204, headers(*lines, "Access-Control-Allow-Methods: GET, POST, PUT"))
    return Response(200 if _logged_in(request) else 401, headers(*lines))


def starlette_052(request: Request) -> Response:
    """CORSMiddleware(allow_origins=["*"], allow_credentials=True) up to Starlette 0.52: the Origin
    with credentials when the request carries any Cookie, `*` otherwise."""
    origin = _header(request, "origin") or ""
    if request.method == "OPTIONS" or _header(request, "cookie") is not None:
        return reflect_any(request)
    lines = ["Access-Control-Allow-Origin: *", "Access-Control-Allow-Credentials: true"]
    return Response(401, headers(*lines)) if origin else Response(401, headers())


def fetch_metadata_policy(request: Request) -> Response:
    """web.dev's resource isolation policy in front of `reflect_any`: 403, no CORS headers, for a
    cross-site request that is not a navigation."""
    if _header(request, "sec-fetch-site") == "cross-site":
        return Response(403, headers("Content-Type: application/json"))
    return reflect_any(request)


def audit(
    answer: object, visitor: Visitor, policy: Policy | None = None, url: str = URL
) -> list[Finding]:
    probes = plan_target(url, policy, "standard", visitor=visitor)
    return evaluate(url, policy, results_for(policy, probes, answer), "", visitor)  # type: ignore[arg-type]


def cross_site(origin: str, url: str = URL) -> bool:
    return fetch_site(origin, url) == "cross-site"


def claims_cross_site_reads_with_cookies(findings: Sequence[Finding]) -> bool:
    """Whether any finding says a cross-site page reads with the visitor's cookies."""
    return any(
        e.cross_site or (cross_site(f.evidence.origin) and f.severity in ("critical", "high"))
        for f in findings
        for e in f.exposure
    )


# --- a SameSite=None session ------------------------------------------------------------------------


def test_reflect_any_with_a_none_session_in_chrome_is_critical_and_read_cross_site() -> None:
    finding = by_rule(audit(reflect_any, visitor_of((NONE_SESSION,))))[
        "any-origin-with-credentials"
    ]
    assert finding.severity == "critical"
    assert cross_site(finding.evidence.origin)
    assert ("Cookie", "session=abc123") in finding.evidence.sent_lines
    chrome, no_3pc, firefox, safari = finding.exposure
    assert chrome.profile == "chrome" and chrome.cross_site > 0 and chrome.status == 200
    assert chrome.with_cookies[0] == finding.evidence.origin  # the witness leads
    for other in (no_3pc, firefox, safari):
        assert other.cross_site == 0 and other.with_cookies  # same-site pages still read
        assert all(not cross_site(o) for o in other.with_cookies)
        assert all(cross_site(o) for o in other.without_cookies)


@pytest.mark.parametrize("profile", ["chrome-no-3pc", "firefox", "safari"])
def test_reflect_any_where_third_party_cookies_are_blocked_is_high_with_same_site_evidence(
    profile: Profile,
) -> None:
    findings = audit(reflect_any, visitor_of((NONE_SESSION,), (profile,)))
    finding = by_rule(findings)["any-origin-with-credentials"]
    assert finding.severity == "high"  # a same-site page: a takeover or an XSS away
    assert not cross_site(finding.evidence.origin)
    assert "(a same-site page)" in finding.message
    assert not claims_cross_site_reads_with_cookies(findings)
    assert [e.profile for e in finding.exposure] == [profile]


# --- a SameSite=Lax session ---------------------------------------------------------------------


def test_a_lax_session_is_never_read_cross_site_in_any_profile() -> None:
    findings = audit(reflect_any, visitor_of((LAX_SESSION,)))
    assert not claims_cross_site_reads_with_cookies(findings)
    finding = by_rule(findings)["any-origin-with-credentials"]
    assert finding.severity == "high" and not cross_site(finding.evidence.origin)
    assert all(e.with_cookies and e.cross_site == 0 for e in finding.exposure)
    assert any(
        "cross-site pages read only without the visitor's cookies" in n for n in finding.notes
    )
    assert exposure_lines(finding) == [
        ("chrome, chrome-no-3pc, firefox, safari", finding.exposure[0].summary())
    ]


# --- a server that branches on the Cookie (Starlette up to 0.52) --------------------------------------


def test_cookie_branching_reflects_for_the_visitor_and_the_front_end_works() -> None:
    policy = build_policy(origins=[APP], credentials=True)
    findings = by_rule(audit(starlette_052, visitor_of((NONE_SESSION,)), policy))
    assert "credentials-refused" not in findings  # the front-end's request carries the cookie
    assert findings["any-origin-with-credentials"].severity in ("critical", "high")
    assert cross_site(findings["any-origin-with-credentials"].evidence.origin)


def test_the_placeholder_session_makes_the_verdicts_of_a_none_session() -> None:
    """Without --cookie, the placeholder (a SameSite=None; Secure cookie) is what a cookie-branching
    server sees: the same findings as with a real SameSite=None session, by rule and evidence."""
    placeholder = audit(starlette_052, visitor_of())
    given = audit(starlette_052, visitor_of((NONE_SESSION,)))
    assert [(f.rule.id, f.evidence.origin) for f in placeholder] == [
        (f.rule.id, f.evidence.origin) for f in given
    ]


def test_a_401_to_the_placeholder_does_not_lower_the_severity() -> None:
    """The placeholder is not the API's session: the 401 says nothing of a logged-in visitor."""
    placeholder = by_rule(audit(reflect_any, visitor_of()))["any-origin-with-credentials"]
    assert placeholder.severity == "critical"
    assert any("placeholder session cookie" in n for n in placeholder.notes)
    other = parse_cookie("theme=dark; SameSite=None; Secure")  # given, but not the session
    given = by_rule(audit(reflect_any, visitor_of((other,))))["any-origin-with-credentials"]
    assert given.severity == "high"
    assert any(n.startswith("severity lowered: the response was 401") for n in given.notes)


# --- a Fetch Metadata isolation policy --------------------------------------------------------------


def test_fetch_metadata_policy_no_cross_site_claim_and_same_site_reads_are_said() -> None:
    findings = audit(fetch_metadata_policy, visitor_of())
    assert not claims_cross_site_reads_with_cookies(findings)
    over = [f for f in findings if f.rule.direction == "over-permissive"]
    assert over and all(not cross_site(f.evidence.origin) for f in over)
    assert any(
        "(a same-site page) can read" in f.message and "credentials" in f.message for f in over
    )


# --- the address space (Local Network Access) ---------------------------------------------------------


LOOPBACK_API = "http://127.0.0.1:8000/api"


@pytest.mark.parametrize(
    ("url", "noted"),
    [
        (LOOPBACK_API, True),  # a public page, a loopback API: the permission prompt
        ("https://10.0.0.5/api", True),  # local (an http URL there is judged as this one)
        ("https://api.example.com/x", False),  # public
    ],
)
def test_a_public_page_reaching_a_more_private_api_is_noted(url: str, noted: bool) -> None:
    finding = by_rule(audit(reflect_any, visitor_of(), url=url))["any-origin-with-credentials"]
    has_note = any("Local Network Access permission" in n for n in finding.notes)
    assert has_note is noted
    assert finding.severity == "critical"  # never lowered: a visitor can grant it


def test_a_page_in_the_same_address_space_is_not_gated() -> None:
    finding = by_rule(audit(reflect_any, visitor_of(), url=LOOPBACK_API))[
        "any-origin-with-credentials"
    ]
    from_loopback = replace(
        finding, evidence=replace(finding.evidence, origin="http://127.0.0.1:9")
    )
    bare = replace(from_loopback, notes=())
    assert with_address_space(bare, LOOPBACK_API).notes == ()
    from_local = replace(bare, evidence=replace(bare.evidence, origin="http://10.0.0.9"))
    assert with_address_space(from_local, LOOPBACK_API).notes  # local → loopback is gated
    assert with_address_space(from_local, "http://10.1.2.3/x").notes == ()  # local → local is not


# --- the exposure line ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exposure", "summary"),
    [
        (
            Exposure("chrome", (EVIL, "https://x.example.com"), (), 200, 1),
            f"1 cross-site origin read with the visitor's cookies (e.g. {EVIL}, status 200); "
            "1 same-site too",
        ),
        (
            Exposure("chrome", (EVIL, "https://b.example"), (), None, 2),
            f"2 cross-site origins read with the visitor's cookies (e.g. {EVIL})",
        ),
        (
            Exposure("safari", ("https://x.example.com",), (EVIL,), 200, 0),
            "only same-site pages read with the visitor's cookies (e.g. https://x.example.com, "
            "status 200); 1 other origin read only without them",
        ),
        (
            Exposure("safari", ("https://x.example.com",), (), 200, 0),
            "only same-site pages read with the visitor's cookies (e.g. https://x.example.com, "
            "status 200)",
        ),
        (
            Exposure("firefox", (), (EVIL, "https://b.example")),
            "2 origins read, but only without the visitor's cookies (this browser does not send "
            "them there)",
        ),
        (Exposure("firefox"), "no crafted origin reads"),
    ],
)
def test_exposure_summary(exposure: Exposure, summary: str) -> None:
    assert exposure.summary() == summary


def test_a_finding_nothing_reads_with_credentials_has_no_exposure() -> None:
    def wildcard(request: Request) -> Response:
        return Response(200, headers("Access-Control-Allow-Origin: *"))

    (finding,) = [f for f in audit(wildcard, visitor_of()) if f.rule.id == "public-wildcard"]
    assert finding.exposure == ()


# --- boundaries of the exposure and the address-space note -------------------------------------------


def reflect_without_credentials(request: Request) -> Response:
    origin = _header(request, "origin") or ""
    lines = [f"Access-Control-Allow-Origin: {origin}", "Vary: Origin"]
    return Response(204 if request.method == "OPTIONS" else 200, headers(*lines))


def test_cross_site_readers_are_listed_before_same_site_ones() -> None:
    finding = by_rule(audit(reflect_any, visitor_of((NONE_SESSION,))))[
        "any-origin-with-credentials"
    ]
    chrome = finding.exposure[0]
    kinds = [cross_site(o) for o in chrome.with_cookies]
    assert kinds == sorted(kinds, reverse=True) and kinds.count(False) > 0
    assert chrome.cross_site == kinds.count(True)


def test_one_profile_reading_only_with_cookies_has_its_exposure() -> None:
    finding = by_rule(audit(reflect_any, visitor_of((NONE_SESSION,), ("chrome",))))[
        "any-origin-with-credentials"
    ]
    (chrome,) = finding.exposure
    assert chrome.with_cookies and not chrome.without_cookies


def test_origins_that_read_only_without_credentials_have_no_exposure() -> None:
    finding = by_rule(audit(reflect_without_credentials, visitor_of()))["any-origin"]
    assert finding.exposure == ()


def test_findings_about_allowed_origins_have_no_exposure() -> None:
    policy = build_policy(origins=[APP])  # no credentials in the policy; the server grants them
    finding = by_rule(audit(reflect_any, visitor_of(), policy))["credentials-beyond-policy"]
    assert finding.evidence.origin == APP and finding.exposure == ()


def test_the_address_space_note_is_for_over_permissive_findings_from_real_pages() -> None:
    policy = build_policy(origins=["https://app.example.com"], credentials=True)

    def refuse_all(request: Request) -> Response:
        return Response(204 if request.method == "OPTIONS" else 200, headers())

    refused = audit(refuse_all, visitor_of(), policy, url=LOOPBACK_API)
    assert refused and all(f.rule.direction == "under-permissive" for f in refused)
    assert not any("Local Network Access" in n for f in refused for n in f.notes)
    null = by_rule(audit(reflect_any, visitor_of(), url=LOOPBACK_API))
    null_finding = replace(
        null["any-origin-with-credentials"],
        evidence=replace(null["any-origin-with-credentials"].evidence, origin="null"),
        notes=(),
    )
    assert with_address_space(null_finding, LOOPBACK_API).notes == ()  # its page is not known


def test_a_hygiene_finding_about_a_crafted_origin_has_no_exposure() -> None:
    finding = by_rule(audit(starlette_052, visitor_of()))["wildcard-with-credentials"]
    assert finding.rule.direction == "hygiene" and finding.exposure == ()
