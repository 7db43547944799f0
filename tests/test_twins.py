"""The cookie-less twin of a crafted origin's credentialed request is sent only where its answer can
change something (audit._run_planned, plan.twin_groups): one twin per group of origins the server
answered alike, all of them where the cookie changed the answer, and always the one a finding rests
on. In-process, against apps that count what they get."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from corscheck import rules
from corscheck.report.model import TargetReport
from corscheck.testing import audit_report

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class CountingApp:
    """An ASGI app whose CORS answer is `answer(origin, has_cookie)`, recording every request."""

    def __init__(self, answer: Callable[[str, bool], list[tuple[str, str]]]) -> None:
        self.answer = answer
        self.requests: list[tuple[str, str, bool]] = []  # method, origin, with a cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        origin, cookie = headers.get("origin", ""), "cookie" in headers
        self.requests.append((scope["method"], origin, cookie))
        lines = self.answer(origin, cookie) if origin else []
        status = 204 if scope["method"] == "OPTIONS" else 200
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in [*lines, ("vary", "Origin")]],
            }
        )
        await send({"type": "http.response.body", "body": b"" if status == 204 else b"{}"})

    def cookieless_gets(self) -> set[str]:
        return {o for method, o, cookie in self.requests if method == "GET" and not cookie}

    def crafted_gets(self) -> set[str]:
        return {o for method, o, cookie in self.requests if method == "GET" and cookie}


def _reflect_with_credentials(origin: str, _cookie: bool) -> list[tuple[str, str]]:
    return [("access-control-allow-origin", origin), ("access-control-allow-credentials", "true")]


def _only_target(app: CountingApp, depth: str = "standard") -> TargetReport:
    report = audit_report(app, paths=["/api"], depth=depth)
    (target,) = report.targets
    return target


def test_a_server_that_ignores_the_cookie_is_asked_without_it_once() -> None:
    app = CountingApp(_reflect_with_credentials)
    target = _only_target(app)
    assert len(app.crafted_gets()) > 5
    assert app.cookieless_gets() == {"https://corscheck-attacker.example"}
    (finding,) = target.findings
    assert finding.rule == rules.ANY_ORIGIN_WITH_CREDENTIALS
    # The exposure still counts every origin that reads without the cookie, from the inference.
    crafted = len(app.crafted_gets())
    no_3pc = dict((e.profile, e) for e in finding.exposure)["chrome-no-3pc"]
    assert len(no_3pc.without_cookies) + len(no_3pc.with_cookies) == crafted
    inferred = [
        p
        for p in target.probes
        if any(n.startswith("not sent: the server answered") for n in p.verdict.notes)
    ]
    assert len(inferred) >= crafted - 1


def test_a_server_that_answers_the_cookie_otherwise_is_asked_every_twin() -> None:
    def logged_in_only(origin: str, cookie: bool) -> list[tuple[str, str]]:
        return _reflect_with_credentials(origin, cookie) if cookie else []

    app = CountingApp(logged_in_only)
    target = _only_target(app)
    assert app.cookieless_gets() == app.crafted_gets()
    assert not any(
        n.startswith("not sent: the server answered")
        for p in target.probes
        for n in p.verdict.notes
    )


def test_a_finding_that_rests_on_a_cookie_less_read_is_proved_by_a_request_sent() -> None:
    """Reflected without Access-Control-Allow-Credentials: only requests without the cookie read.
    The developer origin's twin would be inferred from the null origin's, but it is the witness of
    its own finding, so it is sent, and its evidence carries no cookie."""

    def null_and_dev(origin: str, _cookie: bool) -> list[tuple[str, str]]:
        return (
            [("access-control-allow-origin", origin)]
            if origin in ("null", "http://localhost:3000")
            else []
        )

    app = CountingApp(null_and_dev)
    target = _only_target(app)
    by_rule = {f.rule: f for f in target.findings}
    development = by_rule[rules.DEVELOPMENT_ORIGIN]
    assert development.evidence.origin == "http://localhost:3000"
    assert development.evidence.credentials != "include"
    assert not any(name.lower() == "cookie" for name, _ in development.evidence.sent_lines)
    assert {"null", "http://localhost:3000"} <= app.cookieless_gets()
    assert rules.NULL_ORIGIN in by_rule
