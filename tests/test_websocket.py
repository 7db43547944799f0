"""WebSockets on plain data (issue 32): the handshake as Chromium 156 sends it, the page's verdict on
its answer, the handshakes planned for a ws(s):// target, and the findings, each rule firing and
quiet at its boundary. The servers here are functions of (origin, Cookie line) → (status, close
code, first message), as real ones branch."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from corscheck import rules
from corscheck.evaluate.expectations import judge_results
from corscheck.evaluate.model import Finding
from corscheck.evaluate.websocket import AGAIN, websocket_findings
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import ALLOWED, plan_websocket
from corscheck.policy import Policy, build_policy
from corscheck.visitor import Visitor, parse_cookie, visitor_of
from corscheck.websocket import (
    constructor_error,
    handshake_lines,
    handshake_verdict,
    http_twin,
    is_websocket_url,
)

WSS = "wss://api.example.com/ws"
APP = "https://app.example.com"
POLICY = build_policy(origins=[APP], credentials=True)
NONE_SESSION = parse_cookie("session=s3cret; SameSite=None; Secure")
LAX_SESSION = parse_cookie("session=s3cret; SameSite=Lax; Secure")

Server = Callable[[str, str], tuple[int, int | None, bytes | None]]


def audit(
    server: Server, visitor: Visitor, policy: Policy | None = POLICY, url: str = WSS
) -> list[Finding]:
    planned = plan_websocket(url, policy, "standard", visitor=visitor)
    judged = []
    messages: dict[tuple[str, str], bytes | None] = {}
    for p in planned:
        cookie = p.probe.cookie or ""
        thrown = constructor_error(p.probe.origin, url)
        if thrown is not None:
            judged.append((p, Exchange(), handshake_verdict(None, None, thrown)))
            continue
        status, close, message = server(p.probe.origin, cookie)
        request = Request("GET", url, handshake_lines(p.probe.origin, cookie, "k"))
        exchange = Exchange((Hop("actual", request, Response(status, HeaderList(()))),))
        judged.append((p, exchange, handshake_verdict(status, close, None)))
        messages[p.probe.origin, cookie] = message
    for origin in {p.probe.origin for p in planned}:  # the audit's second cookie-less handshake
        messages[origin, AGAIN] = server(origin, "")[2]
    return websocket_findings(url, judge_results(policy, judged), visitor, messages)


def rule_ids(findings: list[Finding]) -> set[str]:
    return {f.rule.id for f in findings}


def no_origin_check(_origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
    return 101, None, b"user data" if cookie else b"anonymous"


def checks_origin(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
    return (101, None, b"hi") if origin == APP else (403, None, None)


def accepts_then_1008(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
    return (101, None, b"hi") if origin == APP else (101, 1008, None)


def ends_with_example_com(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
    greeting = b"your orders" if cookie else b"hello"
    return (101, None, greeting) if origin.endswith("example.com") else (403, None, None)


# --- the handshake and its verdict -------------------------------------------------------------------


def test_the_handshake_is_chromiums_in_order_without_fetch_metadata() -> None:
    lines = handshake_lines(APP, "session=1", "a2V5", (("User-Agent", "UA"), ("X-Api-Key", "k")))
    names = [name for name, _ in lines]
    assert names == [
        "Connection", "Pragma", "Cache-Control", "User-Agent", "Upgrade", "Origin",
        "Sec-WebSocket-Version", "Accept-Encoding", "Accept-Language", "Cookie",
        "Sec-WebSocket-Key", "Sec-WebSocket-Extensions", "X-Api-Key",
    ]  # fmt: skip
    assert not any(n.lower().startswith("sec-fetch") or n == "Referer" for n in names)
    assert "Cookie" not in [n for n, _ in handshake_lines(APP, "", "a2V5")]


@pytest.mark.parametrize(
    ("origin", "url", "thrown"),
    [
        ("https://evil.example", "ws://api.example.com/ws", True),  # mixed content: a hard stop
        ("http://evil.example", "ws://api.example.com/ws", False),
        ("https://evil.example", "wss://api.example.com/ws", False),
        ("https://evil.example", "ws://127.0.0.1:8000/ws", False),  # loopback is trustworthy
        ("null", "ws://api.example.com/ws", False),
    ],
)
def test_an_https_page_cannot_open_a_ws_socket(origin: str, url: str, thrown: bool) -> None:
    assert (constructor_error(origin, url) is not None) is thrown


@pytest.mark.parametrize(
    ("status", "close", "opened"),
    [(101, None, True), (101, 1000, True), (101, 1008, False), (101, 4003, False),
     (101, 3999, True), (101, 5000, True), (403, None, False), (200, None, False)],
)  # fmt: skip
def test_the_page_gets_an_open_socket_only_from_a_101_not_closed_at_once_with_a_refusal(
    status: int, close: int | None, opened: bool
) -> None:
    assert handshake_verdict(status, close, None).allowed is opened
    assert not handshake_verdict(None, None, "thrown").allowed


def test_ws_urls_stand_for_http_urls_in_the_browsers_rules() -> None:
    assert http_twin("wss://api.example.com/ws?x=1") == "https://api.example.com/ws?x=1"
    assert http_twin("ws://api.example.com") == "http://api.example.com/"
    assert is_websocket_url("WSS://a.example/") and not is_websocket_url("https://a.example/")


# --- the plan -------------------------------------------------------------------------------------


def test_every_origin_is_tried_without_cookies_and_as_each_profile_sends_it() -> None:
    planned = plan_websocket(WSS, POLICY, "standard", visitor=visitor_of((NONE_SESSION,)))
    origins = {p.probe.origin for p in planned}
    assert APP in origins and "null" in origins and "https://corscheck-attacker.example" in origins
    for origin in origins:
        cookies = {p.probe.cookie for p in planned if p.probe.origin == origin}
        assert "" in cookies and "session=s3cret" in cookies
    assert all(p.aspect == "websocket" for p in planned)
    assert {p.origin_class for p in planned if p.probe.origin == APP} == {ALLOWED}


def test_a_ws_targets_attackers_are_http_pages() -> None:
    planned = plan_websocket("ws://api.example.com/ws", POLICY, "standard", visitor=visitor_of())
    crafted = {p.probe.origin for p in planned if p.origin_class != ALLOWED}
    assert crafted and not any(constructor_error(o, "ws://api.example.com/ws") for o in crafted), (
        "each crafted origin can open the socket"
    )


# --- the findings ---------------------------------------------------------------------------------


def test_a_socket_without_an_origin_check_is_critical_with_the_session() -> None:
    findings = audit(no_origin_check, visitor_of((NONE_SESSION,)))
    (finding,) = findings
    assert finding.rule == rules.WEBSOCKET_HIJACK and finding.severity == "critical"
    assert finding.evidence.origin == "https://corscheck-attacker.example"
    assert finding.evidence.step == "handshake" and finding.evidence.status == 101
    assert any("first message differs" in n for n in finding.notes)
    chrome = next(e for e in finding.exposure if e.profile == "chrome")
    assert chrome.cross_site and "open with the visitor's cookies" in chrome.summary()


def test_a_socket_that_checks_origin_has_no_finding() -> None:
    for server in (checks_origin, accepts_then_1008):
        assert audit(server, visitor_of((NONE_SESSION,))) == []


def test_a_loose_suffix_check_is_found_through_its_crafted_origin() -> None:
    (finding,) = audit(ends_with_example_com, visitor_of((NONE_SESSION,)))
    assert finding.rule == rules.WEBSOCKET_HIJACK
    assert finding.evidence.origin_class in ("suffix", "subdomain", "scheme-downgrade", "port")


def test_a_lax_session_is_never_a_cross_site_critical() -> None:
    findings = audit(no_origin_check, visitor_of((LAX_SESSION,)))
    (finding,) = findings
    assert finding.rule == rules.WEBSOCKET_HIJACK
    assert finding.severity == "high"  # only same-site pages open it with the session
    assert "(a same-site page)" in finding.message


def test_a_public_socket_is_low_and_said_plainly() -> None:
    """A browser that sends no cookie cross-site (third-party cookies blocked), and no same-site
    page: what the page gets is what any anonymous client gets."""
    only_cross_site = visitor_of((LAX_SESSION,), ("chrome-no-3pc",))

    def no_same_site(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return (403, None, None) if "example.com" in origin and origin != APP else (101, None, b"x")

    (finding,) = audit(no_same_site, only_cross_site)
    assert finding.rule == rules.WEBSOCKET_PUBLIC and finding.severity == "low"
    assert "anonymous client" in finding.message


def test_when_cookie_use_is_not_seen_the_finding_says_so() -> None:
    def silent(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return 101, None, None  # it speaks only once the client does

    (finding,) = audit(silent, visitor_of((NONE_SESSION,)))
    assert finding.rule == rules.WEBSOCKET_HIJACK and finding.severity == "critical"
    assert any("was not observed" in n for n in finding.notes)


def test_a_socket_that_answers_the_same_without_cookies_is_public_and_low() -> None:
    """A steady first message, the same with the visitor's cookies and twice without: a public
    socket as far as a handshake shows, said plainly (never a critical)."""

    def ticker(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return 101, None, b'{"price": 42}'

    (finding,) = audit(ticker, visitor_of((NONE_SESSION,)))
    assert finding.rule == rules.WEBSOCKET_PUBLIC and finding.severity == "low"
    assert "the same with and without the visitor's cookies" in finding.message
    assert any("sends no data frame" in n for n in finding.notes)


def test_a_first_message_that_varies_by_itself_proves_no_cookie_use() -> None:
    """Engine.IO's open packet carries a fresh sid each time: with and without cookies differ, but
    so do two without; the note must not claim the socket reads the session."""
    sids = iter(range(1000))

    def fresh_sid(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return 101, None, f'0{{"sid":"{next(sids)}"}}'.encode()

    (finding,) = audit(fresh_sid, visitor_of((NONE_SESSION,)))
    assert any("was not observed" in n for n in finding.notes), finding.notes


def test_a_socket_refused_without_the_session_depends_on_it() -> None:
    def session_only(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return (101, None, b"me") if cookie else (401, None, None)

    (finding,) = audit(session_only, visitor_of((NONE_SESSION,)))
    assert any("depends on the session" in n for n in finding.notes)


def test_the_front_end_refused_is_under_permissive() -> None:
    def refuses_everyone(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return 403, None, None

    (finding,) = audit(refuses_everyone, visitor_of((NONE_SESSION,)))
    assert finding.rule == rules.WEBSOCKET_ORIGIN_REFUSED and finding.severity == "high"
    assert "403" in finding.message
    # Quiet at the boundary: the front-end opens it, nobody else does.
    assert audit(checks_origin, visitor_of((NONE_SESSION,))) == []


def test_an_https_front_end_and_a_ws_socket_is_refused_by_the_browser() -> None:
    (finding,) = audit(checks_origin, visitor_of((NONE_SESSION,)), url="ws://api.example.com/ws")
    assert finding.rule == rules.WEBSOCKET_ORIGIN_REFUSED
    assert "insecure WebSocket connection" in finding.message


WEBSOCKET_RULES = {
    rules.WEBSOCKET_HIJACK.id,
    rules.WEBSOCKET_PUBLIC.id,
    rules.WEBSOCKET_ORIGIN_REFUSED.id,
}


def test_a_socket_finding_is_replayed_as_a_socket_never_as_a_fetch() -> None:
    """A fetch() to a ws URL proves nothing of a socket: the replay opens `new WebSocket()` from a
    page on the evidence origin, claimed to open with the cookies the audit sent."""
    from corscheck.prove.pages import page
    from corscheck.prove.replay import Replay, replay_of

    (finding,) = audit(no_origin_check, visitor_of((NONE_SESSION,)))
    replay = replay_of(finding, "chrome", False, "t")
    assert isinstance(replay, Replay) and replay.claim == "read"
    (step,) = replay.steps
    assert step.socket and step.url == WSS and step.origin == finding.evidence.origin
    assert replay.cookies == ("session",)
    html = page(step)
    assert "new WebSocket(spec.url)" in html and "fetch(" not in html.split("corscheckSocket")[1]
    assert ".send(" not in html, "the page never sends on the socket"
    refused = audit(lambda o, c: (403, None, None), visitor_of((NONE_SESSION,)))
    assert (
        isinstance(r := replay_of(refused[0], "chrome", False, "t"), Replay)
        and r.claim == "blocked"
    )


@pytest.mark.parametrize(
    ("url", "framework", "server", "expected"),
    [
        ("wss://api.example.com/socket.io/?EIO=4&transport=websocket", None, "", "socketio"),
        (WSS, "fastapi", "uvicorn", "starlette"),
        (WSS, None, "Python/3.12 websockets/14.1", "websockets"),
        (WSS, None, "Daphne", "channels"),
        (WSS, None, "uvicorn", None),  # uvicorn serves every ASGI framework: not a name
    ],
)
def test_the_socket_server_is_named_only_where_the_answers_say(
    url: str, framework: str | None, server: str, expected: str | None
) -> None:
    from corscheck.evaluate.websocket import socket_server

    def answered(origin: str, cookie: str) -> tuple[int, int | None, bytes | None]:
        return 101, None, None

    planned = plan_websocket(url, POLICY, "quick", visitor=visitor_of())
    request = Request("GET", url, ())
    response = Response(101, HeaderList((("Server", server),) if server else ()))
    judged = [
        (p, Exchange((Hop("actual", request, response),)), handshake_verdict(101, None, None))
        for p in planned
    ]
    assert socket_server(url, judge_results(POLICY, judged), framework) == expected


def test_a_socket_findings_poc_opens_the_socket() -> None:
    from corscheck.prove.poc import poc_pages
    from corscheck.report.model import Report, TargetReport

    (finding,) = audit(no_origin_check, visitor_of((NONE_SESSION,)))
    report = Report(
        "0",
        "now",
        "standard",
        "medium",
        (TargetReport(WSS, POLICY, findings=(finding,), requests_sent=1),),
    )
    (poc,) = poc_pages(report)
    assert "corscheckSocket(" in poc.html and "corscheckReplay(" not in poc.html


def test_a_public_socket_that_refuses_the_front_end_says_both() -> None:
    """Crafted origins get the steady public answer, the policy's own front-end is refused: the
    public finding does not hide the refusal."""

    def everyone_but_the_front_end(
        origin: str, cookie: str
    ) -> tuple[int, int | None, bytes | None]:
        return (403, None, None) if origin == APP else (101, None, b"tick")

    findings = audit(everyone_but_the_front_end, visitor_of((NONE_SESSION,)))
    assert rule_ids(findings) == {rules.WEBSOCKET_PUBLIC.id, rules.WEBSOCKET_ORIGIN_REFUSED.id}
