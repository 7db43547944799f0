"""WebSocket targets end to end (issue 32): FastAPI apps under uvicorn on loopback, audited over the
network, and headless Chromium opening `new WebSocket()` from pages on the same origins. The apps
record every handshake and every frame they receive: corscheck never sends a data frame."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

from corscheck import rules
from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.plan import ALLOWED
from corscheck.policy import build_policy
from corscheck.report.model import TargetReport
from corscheck.target import Target
from corscheck.transport.options import RunOptions

from .headless import CHROMIUM, frame_on, launch
from .servers import serve_asgi

APP_ORIGIN = "https://app.example.com"
POLICY = build_policy(origins=[APP_ORIGIN], credentials=True)
LOCAL_NETWORK_WARN_ONLY = (
    "--enable-features=LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true"
)
OPEN_JS = """async (url) => await new Promise((resolve) => {
  let opened = false;
  const socket = new WebSocket(url);
  socket.onopen = () => { opened = true; setTimeout(() => socket.close(1000), 600); };
  socket.onclose = (event) => resolve({opened, code: event.code});
})"""


class Recorder:
    """What the app received: each handshake's header names in order, and each client frame."""

    def __init__(self) -> None:
        self.handshakes: list[list[tuple[str, str]]] = []
        self.frames: list[object] = []
        self._lock = threading.Lock()

    def handshake(self, websocket: WebSocket) -> None:
        with self._lock:
            self.handshakes.append(
                [(k.decode(), v.decode()) for k, v in websocket.scope["headers"]]
            )

    def frame(self, message: object) -> None:
        with self._lock:
            self.frames.append(message)


def socket_app(recorder: Recorder, check: Callable[[str], str]) -> FastAPI:
    """One route, /ws, whose Origin check is `check(origin)`: "accept", "403" or "1008". It sends
    the user's data when the session cookie came, and records every frame the client sends."""
    app = FastAPI()

    @app.websocket("/ws")
    async def ws(websocket: WebSocket) -> None:
        recorder.handshake(websocket)
        decision = check(websocket.headers.get("origin", ""))
        if decision == "403":
            await websocket.close()  # before accept: Starlette answers the handshake 403
            return
        await websocket.accept()
        if decision == "1008":
            await websocket.close(code=1008)
            return
        session = bool(websocket.cookies)  # the visitor's session, whatever its name
        await websocket.send_text("your orders" if session else "hello")
        try:
            while True:
                recorder.frame(await websocket.receive_text())
        except WebSocketDisconnect:
            return

    return app


@contextmanager
def served(check: Callable[[str], str]) -> Iterator[tuple[str, Recorder]]:
    recorder = Recorder()
    with serve_asgi(socket_app(recorder, check)) as base:
        yield base.replace("http://", "ws://", 1) + "/ws", recorder


def audited(url: str) -> TargetReport:
    config = AuditConfig(
        (Target(url, POLICY),), depth="standard", options=RunOptions(trust_env=False)
    )
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API may hold this thread's loop
        (target,) = thread.submit(audit, config).result().targets
    return target


def no_check(_origin: str) -> str:
    return "accept"


def allow_list_403(origin: str) -> str:
    return "accept" if origin == APP_ORIGIN else "403"


def allow_list_1008(origin: str) -> str:
    return "accept" if origin == APP_ORIGIN else "1008"


def ends_with(origin: str) -> str:
    return "accept" if origin.endswith("example.com") else "403"


def test_a_socket_without_an_origin_check_is_critical_and_no_data_frame_is_sent() -> None:
    with served(no_check) as (url, recorder):
        target = audited(url)
    assert not target.errors, target.errors
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK and finding.severity == "critical"
    assert any("first message differs" in n for n in finding.notes), finding.notes
    assert recorder.frames == [], "corscheck sends no data frame"
    names = [name for name, _ in recorder.handshakes[0]]
    assert names[:3] == ["host", "connection", "pragma"] and "sec-fetch-site" not in names
    assert names.index("origin") < names.index("sec-websocket-key")


@pytest.mark.parametrize("check", [allow_list_403, allow_list_1008], ids=["403", "1008"])
def test_a_socket_that_checks_the_origin_has_no_finding(check: Callable[[str], str]) -> None:
    with served(check) as (url, recorder):
        target = audited(url)
    assert target.findings == () and not target.errors, [f.message for f in target.findings]
    assert recorder.frames == []


def test_a_loose_suffix_check_is_found() -> None:
    with served(ends_with) as (url, _):
        target = audited(url)
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK
    assert finding.evidence.origin.endswith("example.com")
    assert finding.evidence.origin_class == "suffix", (
        finding.evidence
    )  # corscheck-attackerexample.com


def test_the_front_end_refused_is_found() -> None:
    with served(lambda origin: "403") as (url, _):
        target = audited(url)
    assert rules.WEBSOCKET_ORIGIN_REFUSED in {f.rule for f in target.findings}


@pytest.mark.chromium
@pytest.mark.parametrize(
    "check", [no_check, allow_list_403, allow_list_1008], ids=lambda c: c.__name__
)
def test_chromium_opens_what_corscheck_says_it_opens(check: Callable[[str], str]) -> None:
    """Each origin's cookie-less verdict, against `new WebSocket()` from a page on that origin."""
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (.ci/run installs it)")
    from playwright import sync_api

    with served(check) as (url, _):
        target = audited(url)
        verdicts = {
            p.planned.probe.origin: p.verdict.allowed
            for p in target.probes
            if not p.planned.probe.cookie
            and (p.planned.origin_class in (ALLOWED, "unrelated", "suffix", "null"))
        }
        assert verdicts

        def run() -> dict[str, bool]:
            seen: dict[str, bool] = {}
            playwright, browser = launch(sync_api, (LOCAL_NETWORK_WARN_ONLY,))
            try:
                for origin in verdicts:
                    page = browser.new_page()
                    result: Any = frame_on(page, origin).evaluate(OPEN_JS, url)
                    seen[origin] = bool(result["opened"]) and result["code"] != 1008
                    page.close()
            finally:
                browser.close()
                playwright.stop()
            return seen

        with ThreadPoolExecutor(1) as thread:
            seen = thread.submit(run).result()
    assert seen == verdicts


def no_check_app() -> FastAPI:
    """The socket without an Origin check, for --app (module:factory())."""
    return socket_app(Recorder(), no_check)


def allow_list_app() -> FastAPI:
    return socket_app(Recorder(), allow_list_1008)


@pytest.mark.parametrize(
    ("factory", "expected"),
    [("no_check_app()", {"websocket-origin-with-cookies"}), ("allow_list_app()", set())],
)
def test_in_process_finds_what_the_network_audit_finds(factory: str, expected: set[str]) -> None:
    """`audit --app main:app /ws`: a path that is a WebSocket route is audited as a socket,
    in-process, with the findings of the same app served on loopback."""
    import json

    from typer.testing import CliRunner

    from corscheck.cli import app

    spec = f"tests.e2e.test_websocket_servers:{factory}"
    args = ["audit", "/ws", "--app", spec, "--allow-origin", APP_ORIGIN, "-f", "json"]
    result = CliRunner().invoke(app, [*args, "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    (target,) = json.loads(result.stdout)["targets"]
    assert target["url"] == "wss://testserver/ws" and not target["errors"]
    assert {f["rule"] for f in target["findings"]} == expected
    # FastAPI in-process: the fix says where the check goes, since CORSMiddleware does not apply.
    assert all("websocket.accept()" in f["fix"] for f in target["findings"])
    check = no_check if factory.startswith("no_check") else allow_list_1008
    with served(check) as (url, _):
        network = audited(url)
    assert {f.rule.id for f in network.findings} == expected


def test_a_wsgi_app_has_no_sockets() -> None:
    from typer.testing import CliRunner

    from corscheck.cli import app

    result = CliRunner().invoke(
        app,
        ["audit", "ws://testserver/ws", "--app", "tests.e2e.test_websocket_servers:wsgi_app"],
    )
    assert result.exit_code == 2, result.output
    assert "a WSGI app has no sockets" in " ".join(result.output.split())


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.parametrize(("check", "opened"), [(no_check, True), (allow_list_403, False)])
def test_probe_makes_one_handshake_as_a_page_would(
    check: Callable[[str], str], opened: bool
) -> None:
    import json

    from typer.testing import CliRunner

    from corscheck.cli import app

    with served(check) as (url, recorder):
        args = ["probe", url, "--origin", "https://evil.example", "-f", "json", "--no-proxy"]
        with ThreadPoolExecutor(1) as thread:
            result = thread.submit(CliRunner().invoke, app, args).result()
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)["browser"]
    assert verdict["allowed"] is opened
    assert len(recorder.handshakes) == 1 and recorder.frames == []
    cookie = dict(recorder.handshakes[0]).get("cookie", "")
    assert cookie.startswith("__corscheck_session="), "the visitor's placeholder session went"


# --- other socket servers: the websockets library and python-socketio ----------------------------


@contextmanager
def websockets_server(origins: list[Any]) -> Iterator[str]:
    """The `websockets` library on a loopback port, with its own `origins=` check."""
    import asyncio

    from websockets.asyncio.server import serve

    ready = threading.Event()
    stop: dict[str, Any] = {}

    async def handler(connection: Any) -> None:
        session = "cookie" in {k.lower() for k in connection.request.headers}
        await connection.send("your orders" if session else "hello")
        async for _ in connection:  # a client frame would land here; corscheck sends none
            raise AssertionError("a data frame was sent")

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, origins=origins) as server:
            stop["port"] = server.sockets[0].getsockname()[1]
            stop["event"] = asyncio.Event()
            stop["loop"] = asyncio.get_running_loop()
            ready.set()
            await stop["event"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(10), "websockets did not start"
    try:
        yield f"ws://127.0.0.1:{stop['port']}/"
    finally:
        stop["loop"].call_soon_threadsafe(stop["event"].set)
        thread.join(timeout=10)


def test_websockets_with_its_origins_list_has_no_finding() -> None:
    with websockets_server([APP_ORIGIN]) as url:
        target = audited(url)
    assert target.findings == () and not target.errors, [f.message for f in target.findings]


def test_websockets_with_an_unescaped_dot_in_its_origin_pattern_is_found() -> None:
    import re

    with websockets_server([re.compile(r"https://app.example.com")]) as url:
        target = audited(url)
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK
    assert finding.evidence.origin_class == "unescaped-dot", finding.evidence
    assert "escape its dots" in finding.fix  # in the websockets library's own terms


@contextmanager
def socketio_server(cors_allowed_origins: Any) -> Iterator[str]:
    import socketio

    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins=cors_allowed_origins)
    with serve_asgi(socketio.ASGIApp(sio)) as base:
        yield base.replace("http://", "ws://", 1) + "/socket.io/?EIO=4&transport=websocket"


def test_socketio_open_to_every_origin_is_critical_though_its_open_packet_says_nothing() -> None:
    """Engine.IO's open packet (0{"sid":…}) is the same with and without cookies: the session is
    read at namespace connect, after a frame corscheck never sends. The finding rests on the
    cookies the browser attaches, and says their use was not observed."""
    with socketio_server("*") as url:
        target = audited(url)
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK and finding.severity == "critical"
    assert any("was not observed" in note for note in finding.notes), finding.notes
    assert "cors_allowed_origins" in finding.fix


def test_socketio_with_an_allow_list_has_no_finding() -> None:
    with socketio_server([APP_ORIGIN]) as url:
        target = audited(url)
    assert target.findings == () and not target.errors, [f.message for f in target.findings]


@pytest.mark.chromium
def test_prove_opens_the_socket_from_the_crafted_origin_in_chromium() -> None:
    """--prove: `new WebSocket()` from a page on the evidence origin, with the visitor's cookie
    jar, opens as claimed; the front-end refused is refused alike."""
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (.ci/run installs it)")
    from corscheck.config import Flags, PolicyFlags, resolve
    from corscheck.deliver import proven, settings_for

    flags = Flags(policy=PolicyFlags(origins=(APP_ORIGIN,), credentials=True))
    for check, rule in (
        (no_check, rules.WEBSOCKET_HIJACK),
        (lambda o: "403", rules.WEBSOCKET_ORIGIN_REFUSED),
    ):
        with served(check) as (url, recorder):
            config = resolve(flags, [url])
            with ThreadPoolExecutor(1) as thread:
                report = thread.submit(audit, config).result()
                proved = thread.submit(
                    proven, report, settings_for(config, CHROMIUM), quiet=True
                ).result()
            assert recorder.frames == []
        (finding,) = [f for t in proved.targets for f in t.findings if f.rule == rule]
        proof = finding.proof
        assert proof is not None and proof.agrees, proof and proof.summary()
        assert proof.outcome == ("read" if rule == rules.WEBSOCKET_HIJACK else "blocked")


# --- Django Channels: AllowedHostsOriginValidator is OriginValidator(app, ALLOWED_HOSTS) ----------


def channels_app(allowed_hosts: list[str]) -> Any:
    """A Channels consumer behind the validator AllowedHostsOriginValidator builds from
    ALLOWED_HOSTS (the settings are per process, so the list is given to it directly)."""
    pytest.importorskip("channels")
    import django
    from django.conf import settings

    if not settings.configured:  # one Django configuration per process (see test_inprocess.py)
        settings.configure(DEBUG=False, SECRET_KEY="corscheck-test", ALLOWED_HOSTS=["*"])
    django.setup()
    from channels.generic.websocket import AsyncWebsocketConsumer
    from channels.security.websocket import OriginValidator

    class Hello(AsyncWebsocketConsumer):
        async def connect(self) -> None:
            await self.accept()
            session = any(name == b"cookie" for name, _ in self.scope["headers"])
            await self.send(text_data="your orders" if session else "hello")

    return OriginValidator(Hello.as_asgi(), allowed_hosts)


@contextmanager
def channels_server(allowed_hosts: list[str]) -> Iterator[str]:
    with serve_asgi(channels_app(allowed_hosts)) as base:
        yield base.replace("http://", "ws://", 1) + "/ws/"


def test_channels_with_allowed_hosts_missing_the_front_end_refuses_it() -> None:
    with channels_server(["api.example.com"]) as url:
        target = audited(url)
    assert {f.rule for f in target.findings} == {rules.WEBSOCKET_ORIGIN_REFUSED}, [
        f.message for f in target.findings
    ]


def test_channels_with_a_leading_dot_lets_siblings_and_http_in() -> None:
    with channels_server([".example.com"]) as url:
        target = audited(url)
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK
    origins = {finding.evidence.origin, *finding.evidence.related}
    assert "http://app.example.com" in origins  # the scheme downgrade passes a host check
    assert any(
        o.endswith(".app.example.com") or o.startswith("https://corscheck-attacker.")
        for o in origins
    )


def test_a_public_socket_that_uses_no_cookie_is_low_at_most() -> None:
    """A ticker: every origin opens it and it says the same with and without the session."""
    app = FastAPI()

    @app.websocket("/ticker")
    async def ticker(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text('{"price": 42}')
        try:
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            return

    with serve_asgi(app) as base:
        target = audited(base.replace("http://", "ws://", 1) + "/ticker")
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_PUBLIC and finding.severity == "low"


@pytest.mark.chromium
@pytest.mark.parametrize("profile", ["chrome", "chrome-no-3pc"])
def test_chromium_sends_the_cookies_corscheck_says_in_both_cookie_modes(profile: str) -> None:
    """Third-party cookies allowed (Chrome Stable) and blocked (Chromium builds, Incognito): the
    proof's handshake from the witness origin reaches the server with the session cookie exactly
    where the audit's did, as the server's own log shows (a page cannot see it)."""
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (.ci/run installs it)")
    from corscheck.config import Flags, PolicyFlags, resolve
    from corscheck.deliver import proven, settings_for

    flags = Flags(policy=PolicyFlags(origins=(APP_ORIGIN,), credentials=True), browsers=(profile,))
    with served(no_check) as (url, recorder):
        config = resolve(flags, [url])
        with ThreadPoolExecutor(1) as thread:
            report = thread.submit(audit, config).result()
            audited_count = len(recorder.handshakes)
            proved = thread.submit(
                proven, report, settings_for(config, CHROMIUM), quiet=True
            ).result()
        by_browser = recorder.handshakes[audited_count:]
    (finding,) = [f for t in proved.targets for f in t.findings]
    assert finding.proof is not None and finding.proof.agrees, finding.proof.summary()
    claimed = any(name.lower() == "cookie" for name, _ in finding.evidence.sent_lines)
    witness = [dict(h) for h in by_browser if dict(h).get("origin") == finding.evidence.origin]
    assert witness, "the browser's handshake reached the server"
    assert ("__corscheck_session" in witness[0].get("cookie", "")) is claimed
    if profile == "chrome-no-3pc":
        # No cross-site page gets the session in a browser that blocks third-party cookies.
        assert finding.severity == "high" and "(a same-site page)" in finding.message


@pytest.mark.chromium
@pytest.mark.parametrize("profile", ["chrome", "chrome-no-3pc"])
@pytest.mark.parametrize("check", [no_check, allow_list_403, ends_with], ids=lambda c: c.__name__)
def test_every_origin_opens_in_chromium_as_corscheck_says_in_each_cookie_mode(
    profile: str, check: Callable[[str], str]
) -> None:
    """Every origin of the audit, from a page in the prover's Chromium (the visitor's cookie jar,
    third-party cookies allowed or blocked as the profile says): opened or refused as corscheck's
    verdict for what that browser sends, and with the session cookie exactly where corscheck
    planned it."""
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium on PATH (.ci/run installs it)")
    from corscheck.config import Flags, PolicyFlags, resolve
    from corscheck.deliver import settings_for
    from corscheck.prove.replay import PageStep, Replay, unmappable_origin
    from corscheck.prove.run import _play

    flags = Flags(policy=PolicyFlags(origins=(APP_ORIGIN,), credentials=True), browsers=(profile,))
    with served(check) as (url, recorder):
        config = resolve(flags, [url])
        with ThreadPoolExecutor(1) as thread:
            report = thread.submit(audit, config).result()
        (target,) = report.targets
        # What this profile's browser sends from each origin: its own probe (cookies or none).
        expected = {
            p.planned.probe.origin: (p.verdict.allowed, bool(p.planned.probe.cookie))
            for p in target.probes
            if p.planned.seen_by(profile)
            and (
                p.planned.probe.cookie
                or not any(
                    q.planned.probe.origin == p.planned.probe.origin
                    and q.planned.probe.cookie
                    and q.planned.seen_by(profile)
                    and q.planned.profiles
                    for q in target.probes
                )
            )
            and not unmappable_origin(p.planned.probe.origin, url)
        }
        replays = [Replay(profile, (PageStep(o, url, socket=True),), "read") for o in expected]  # type: ignore[arg-type]
        before = len(recorder.handshakes)
        with ThreadPoolExecutor(1) as thread:
            proofs = thread.submit(_play, replays, settings_for(config, CHROMIUM), {}).result()
        sent = {
            dict(h).get("origin", ""): "cookie" in dict(h) for h in recorder.handshakes[before:]
        }
    seen = {r.evidence.origin: proofs[id(r)].outcome == "read" for r in replays}
    assert seen == {o: opened for o, (opened, _) in expected.items()}
    assert {o: sent.get(o) for o in expected} == {o: cookie for o, (_, cookie) in expected.items()}


def test_a_lax_session_gives_no_cross_site_critical() -> None:
    """A SameSite=Lax session goes with same-site handshakes only: the finding is a same-site
    page's (high), never any site's."""
    config = AuditConfig(
        (Target("", POLICY),),
        depth="standard",
        options=RunOptions(trust_env=False),
    )
    from dataclasses import replace as with_

    from corscheck.visitor import parse_cookie, visitor_of

    with served(no_check) as (url, recorder):
        lax = visitor_of((parse_cookie("sid=s3cret; SameSite=Lax; Secure"),))
        run = with_(config, targets=(Target(url, POLICY),), visitor=lax)
        with ThreadPoolExecutor(1) as thread:
            (target,) = thread.submit(audit, run).result().targets
    (finding,) = target.findings
    assert finding.rule == rules.WEBSOCKET_HIJACK and finding.severity == "high"
    assert "(a same-site page)" in finding.message
    cross_site = [
        dict(h) for h in recorder.handshakes if "127.0.0.1" not in dict(h).get("origin", "")
    ]
    assert cross_site and not any("cookie" in h for h in cross_site)
