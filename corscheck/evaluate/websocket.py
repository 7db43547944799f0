"""Findings of a WebSocket target (websocket.py, plan.plan_websocket): crafted origins that open
the socket, with the visitor's cookies or without, and the policy's front-ends refused. PURE.

A handshake shows whether the socket opens, not what the server does with the session on it:
corscheck never sends a data frame (a Socket.IO server, say, reads the session only when the client
joins a namespace). So a socket that opens for a crafted origin with the cookies the visitor's
browser attaches is judged by those cookies, and the finding says whether their use was observed
(the handshake without them refused, or its first message different) or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from corscheck import rules
from corscheck.evaluate.build import make_finding
from corscheck.evaluate.exposure import with_address_space, with_exposure
from corscheck.evaluate.model import Finding, ProbeResult
from corscheck.plan import ALLOWED
from corscheck.visitor import Visitor, fetch_site
from corscheck.websocket import http_twin

AGAIN = "\0again"  # the key of a cookie-less handshake's second first message (audit.py)


def websocket_findings(
    target: str,
    results: Sequence[ProbeResult],
    visitor: Visitor | None,
    first_messages: dict[tuple[str, str], bytes | None] | None = None,
    framework: str | None = None,
) -> list[Finding]:
    """`results` are every handshake of the target; the verdicts are those of the visitor's first
    profile (what its browser sends). `first_messages` maps (origin, Cookie line) to the start of
    the first message the socket sent, where one came; (origin, AGAIN) that of a second cookie-less
    handshake from the likeliest witness (audit.py), which tells a steady message from one that
    varies by itself."""
    profile = visitor.profile if visitor is not None else None

    seen = [r for r in results if profile is None or r.planned.seen_by(profile)]
    messages = first_messages or {}
    findings: list[Finding] = []
    crafted = [r for r in seen if r.planned.origin_class != ALLOWED and r.verdict.allowed]
    with_cookies = [r for r in crafted if r.planned.probe.cookie]
    page_url = http_twin(target)
    if with_cookies:
        # Cross-site first (any site the visitor opens), the unrelated attacker site first of them.
        with_cookies.sort(
            key=lambda r: (
                fetch_site(r.planned.probe.origin, page_url) != "cross-site",
                r.planned.origin_class != "unrelated",
            )
        )
        witness = with_cookies[0]
        origin = witness.planned.probe.origin
        cross_site = fetch_site(origin, page_url) == "cross-site"
        others = sorted({r.planned.probe.origin for r in with_cookies} - {origin})
        alone = _without_cookies(results, origin)
        if _answers_alike(witness, alone, messages):
            findings.append(_public_alike(target, witness, others))
        else:
            findings.append(_hijack(target, witness, others, cross_site, alone, messages))
    elif crafted:
        crafted.sort(key=lambda r: r.planned.origin_class != "unrelated")
        witness = crafted[0]
        others = sorted({r.planned.probe.origin for r in crafted} - {witness.planned.probe.origin})
        findings.append(
            make_finding(
                rules.WEBSOCKET_PUBLIC,
                target,
                witness,
                f"{witness.planned.probe.origin} opens {target}, and the visitor's browser sends "
                "no cookie with it: a page there gets what an anonymous client gets"
                + (f"; {len(others)} other crafted origins open it too" if others else ""),
                related=tuple(others),
            )
        )
    refused = [
        r
        for r in seen
        if r.planned.origin_class == ALLOWED
        and not r.verdict.allowed
        and (r.planned.probe.cookie or not _has_cookie_twin(seen, r))
    ]
    if refused:
        witness = refused[0]
        findings.append(
            make_finding(
                rules.WEBSOCKET_ORIGIN_REFUSED,
                target,
                witness,
                f"{witness.planned.probe.origin}, a front-end the policy allows, cannot open "
                f"{target}: {witness.verdict.reason}",
                related=tuple(dict.fromkeys(r.planned.probe.origin for r in refused[1:])),
            )
        )
    return _finish(target, findings, framework, results, visitor)


def _finish(
    target: str,
    findings: list[Finding],
    framework: str | None,
    results: Sequence[ProbeResult],
    visitor: Visitor | None,
) -> list[Finding]:
    """The findings as a socket's: handshake evidence, the server's fix, exposure, LNA notes."""
    server = socket_server(target, results, framework) if findings else None
    findings = [_as_handshake(f, server) for f in findings]
    if visitor is not None:
        findings = [
            with_exposure(f, http_twin(target), results, visitor.profiles) for f in findings
        ]
    return [with_address_space(f, target) for f in findings]


def _hijack(
    target: str,
    witness: ProbeResult,
    others: list[str],
    cross_site: bool,
    alone: ProbeResult | None,
    messages: dict[tuple[str, str], bytes | None],
) -> Finding:
    """A crafted origin opens the socket with the visitor's cookies; the note says whether the
    socket was seen to use them."""
    origin = witness.planned.probe.origin
    finding = make_finding(
        rules.WEBSOCKET_HIJACK,
        target,
        witness,
        f"{origin}{'' if cross_site else ' (a same-site page)'} opens {target} with the "
        f"visitor's cookies" + (f"; {len(others)} other crafted origins do too" if others else ""),
        related=tuple(others),
        base=None if cross_site else rules.lower_severity(rules.WEBSOCKET_HIJACK.severity),
    )
    return _noted(finding, _cookie_use(witness, alone, messages))


def _answers_alike(
    witness: ProbeResult, alone: ProbeResult | None, messages: dict[tuple[str, str], bytes | None]
) -> bool:
    """Whether the socket answered the crafted origin exactly alike with and without the visitor's
    cookies: it opened both ways, and its first message came, the same with them and twice
    without (a message that varies by itself, like Engine.IO's open packet, never counts)."""
    origin = witness.planned.probe.origin
    with_message = messages.get((origin, witness.planned.probe.cookie or ""))
    return (
        alone is not None
        and alone.verdict.allowed
        and with_message is not None
        and with_message == messages.get((origin, "")) == messages.get((origin, AGAIN))
    )


def _public_alike(target: str, witness: ProbeResult, others: list[str]) -> Finding:
    """A socket that answers a crafted origin the same with and without the visitor's cookies."""
    finding = make_finding(
        rules.WEBSOCKET_PUBLIC,
        target,
        witness,
        f"{witness.planned.probe.origin} opens {target}, and the socket answers it the same with "
        "and without the visitor's cookies: a public socket, as far as its handshake and first "
        "message show" + (f"; {len(others)} other crafted origins open it too" if others else ""),
        related=tuple(others),
    )
    note = (
        "corscheck sends no data frame: a socket that reads the session only after the client "
        "speaks would look the same; if it does, check the Origin before accepting"
    )
    return replace(finding, notes=(*finding.notes, note))


def _as_handshake(finding: Finding, server: str | None) -> Finding:
    """The evidence of a socket's finding is its handshake, not a fetch's actual request; the fix
    is in the socket server's own terms where the answers (or the app) name it."""
    evidence = replace(finding.evidence, step="handshake")
    fix = _SOCKET_FIXES.get(server or "", {}).get(finding.rule.id)
    if fix is None:
        return replace(finding, evidence=evidence)
    return replace(finding, evidence=evidence, fix=fix)


def socket_server(
    target: str, results: Sequence[ProbeResult], framework: str | None = None
) -> str | None:
    """Which socket server answered, where its answers (or --app's framework) say: socketio (an
    Engine.IO path), websockets (its Server header), starlette for FastAPI and Starlette apps, or
    None."""
    if "/socket.io/" in target or "/engine.io/" in target:
        return "socketio"
    if framework in ("fastapi", "starlette"):
        return "starlette"
    for result in results:
        for hop in result.exchange.hops:
            server = (hop.response.headers.combined("Server") or "").lower()
            if "websockets/" in server:
                return "websockets"
            if "daphne" in server:
                return "channels"
    return None


_STARLETTE_HIJACK = (
    "CORSMiddleware does not apply to WebSockets: in the websocket route, before "
    'websocket.accept(), compare websocket.headers.get("origin") with the front-ends\' origins '
    "(exact strings, no endswith or unanchored regex) and close with 1008 (or return before "
    "accepting: a 403) for any other."
)
_SOCKET_FIXES: dict[str, dict[str, str]] = {
    "starlette": {
        rules.WEBSOCKET_HIJACK.id: _STARLETTE_HIJACK,
        rules.WEBSOCKET_PUBLIC.id: _STARLETTE_HIJACK,
        rules.WEBSOCKET_ORIGIN_REFUSED.id: (
            "Add the front-end's origin to the route's own Origin check (CORSMiddleware's "
            "allow_origins is not consulted for WebSockets)."
        ),
    },
    "socketio": {
        rules.WEBSOCKET_HIJACK.id: (
            "Set cors_allowed_origins to the front-ends' origins (python-socketio "
            "AsyncServer(cors_allowed_origins=[...]); Node Socket.IO: cors: {origin: [...]}), "
            'never "*": Socket.IO reads the session when the client joins a namespace, so any '
            "site's page gets the user's events."
        ),
        rules.WEBSOCKET_ORIGIN_REFUSED.id: (
            "Add the front-end's origin to cors_allowed_origins (Node: cors.origin)."
        ),
    },
    "websockets": {
        rules.WEBSOCKET_HIJACK.id: (
            "Pass origins=[...] to serve() with the front-ends' exact origins; a regular expression "
            'there must escape its dots and be anchored (re.compile(r"https://app\\.example\\.com")).'
        ),
        rules.WEBSOCKET_ORIGIN_REFUSED.id: "Add the front-end's origin to serve(origins=[...]).",
    },
    "channels": {
        rules.WEBSOCKET_HIJACK.id: (
            "Wrap the WebSocket router in AllowedHostsOriginValidator (or OriginValidator with the "
            "front-ends' origins), and keep ALLOWED_HOSTS to the API's own hosts: a leading dot "
            '(".example.com") lets every subdomain\'s page in, over http too.'
        ),
        rules.WEBSOCKET_ORIGIN_REFUSED.id: (
            "AllowedHostsOriginValidator compares the Origin's host with ALLOWED_HOSTS: add the "
            "front-end's host there, or use OriginValidator with the front-ends' origins."
        ),
    },
}


def _without_cookies(results: Sequence[ProbeResult], origin: str) -> ProbeResult | None:
    return next(
        (r for r in results if r.planned.probe.origin == origin and not r.planned.probe.cookie),
        None,
    )


def _has_cookie_twin(results: Sequence[ProbeResult], result: ProbeResult) -> bool:
    origin = result.planned.probe.origin
    return any(r.planned.probe.origin == origin and r.planned.probe.cookie for r in results)


def _cookie_use(
    witness: ProbeResult,
    alone: ProbeResult | None,
    messages: dict[tuple[str, str], bytes | None],
) -> str:
    """Whether the socket was seen to depend on the cookies, in words for the finding's note."""
    origin = witness.planned.probe.origin
    if alone is not None and not alone.verdict.allowed:
        return (
            "without the visitor's cookies the same handshake is refused: the socket depends on "
            "the session"
        )
    with_message = messages.get((origin, witness.planned.probe.cookie or ""))
    without_message = messages.get((origin, ""))
    # A first message may vary by itself (Engine.IO's open packet carries a fresh sid): it tells
    # of the session only where the cookie-less one, asked twice, came back the same.
    steady = (origin, AGAIN) in messages and messages[origin, AGAIN] == without_message
    if with_message is not None and with_message != without_message and steady:
        return (
            "the socket's first message differs without the visitor's cookies: it reads the session"
        )
    return (
        "it opens without the visitor's cookies too, and says the same: whether it uses the "
        "session was not observed (corscheck sends no data frame); judged by the cookies the "
        "visitor's browser attaches"
    )


def _noted(finding: Finding, note: str) -> Finding:
    return replace(finding, notes=(*finding.notes, note))
