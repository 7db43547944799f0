"""One fetch() (or one `new WebSocket()`) from one origin, sent for real and judged: the library
side of `corscheck probe`."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from corscheck.browser import Probe, Verdict, judge
from corscheck.deployment import AS_GIVEN, Wire
from corscheck.errors import UsageError
from corscheck.exchange import Exchange
from corscheck.masking import masked, secrets_in
from corscheck.report.model import ProbeReport
from corscheck.runner import WIRE, Runner, rate_limited
from corscheck.transport import open_transport
from corscheck.transport.options import RunOptions
from corscheck.visitor import Visitor, cookie_header, cookies_sent, fetch_site
from corscheck.websocket import (
    http_twin,
    is_websocket_url,
)

if TYPE_CHECKING:
    from corscheck.transport.app import LoadedApp

# One fetch(): nothing runs beside it, and each request goes once, as a page sends it (no retry on a
# connection error or a rate-limited answer).
PROBE_OPTIONS = RunOptions(concurrency=1, per_host=1, retries=0, rate_limit_tries=0)


async def run_probe(
    probe: Probe,
    options: RunOptions = PROBE_OPTIONS,
    *,
    app: LoadedApp | None = None,
    base_url: str | None = None,
    visitor: Visitor | None = None,
    wire: Wire = AS_GIVEN,
) -> ProbeReport:
    """Send what a browser would send for `probe` (to `app` in-process when given) and judge the
    answers, secrets masked as in every report (the `visitor`'s cookies too). With a `wire`, the
    probe is of the judged URL and its requests go to the URL given (deployment.py). Raises
    TargetError."""
    WIRE.set(wire)
    cookie_values = visitor.secrets() if visitor else ()
    secrets = secrets_in([probe.url], (*probe.headers, *probe.extra_headers), cookie_values)
    if is_websocket_url(probe.url):
        async with (
            open_transport(options, app, base_url) as transport,
            Runner(options, transport) as run,
        ):
            if not run.makes_handshakes:
                raise UsageError("a WSGI app has no WebSockets: probe an ASGI app or a URL")
            exchange, verdict = await _handshake(probe, run)
        if wire:
            verdict = replace(verdict, notes=(*verdict.notes, wire.words()))
        return masked(ProbeReport(probe, exchange, verdict), secrets)
    async with (
        open_transport(options, app, base_url) as transport,
        Runner(options, transport) as run,
    ):
        exchange = await run.exchange(probe)
    verdict = judge(probe, exchange)
    limited = [h.response.status for h in exchange.hops if rate_limited(h.response) is not None]
    if limited:
        note = (
            f"the server rate-limited this request ({limited[-1]}): a page's fetch() gets the same "
            "answer and is judged on it, as here; try again later for the API's own answer"
        )
        verdict = replace(verdict, notes=(*verdict.notes, note))
    if wire:
        verdict = replace(verdict, notes=(*verdict.notes, wire.words()))
    return masked(ProbeReport(probe, exchange, verdict), secrets)


async def _handshake(probe: Probe, run: Runner) -> tuple[Exchange, Verdict]:
    """One `new WebSocket(url)` from a page on the probe's origin (Runner.open_socket)."""
    exchange, verdict, first_message = await run.open_socket(probe)
    if first_message is not None:
        # Its content may be the visitor's data: only its size is said.
        note = f"the socket opened and the server sent a first message ({len(first_message)} bytes)"
        verdict = replace(verdict, notes=(*verdict.notes, note))
    return exchange, verdict


def visitor_probe(probe: Probe, visitor: Visitor) -> tuple[Probe, str]:
    """`probe` carrying the cookies the visitor's first profile attaches (none for a Cookie given
    with -H, which bypasses the model), and the line that says so."""
    bypassed = any(name.lower() == "cookie" for name, _ in probe.extra_headers)
    # A handshake carries the cookies a request to the http(s) URL it stands for would.
    url = http_twin(probe.url) if is_websocket_url(probe.url) else probe.url
    cookie = (
        None
        if bypassed
        else cookie_header(cookies_sent(visitor.cookies, visitor.profile, probe.origin, url))
    )
    sends = (
        probe.credentials == "include"
        or is_websocket_url(probe.url)
        or fetch_site(probe.origin, url) == "same-origin"
    )
    return replace(probe, cookie=cookie), visitor.probe_statement(cookie, sends)
