"""--prove: every finding of a report replayed in headless Chromium, its proof attached to it.

Only the requests the audit already sent are replayed (an unsafe method only with --send-unsafe),
each from a page on the evidence origin served by the local page server; the browser reaches only
the targets and that server (chromium.py). The browser and the server are stopped, and the profile
deleted, however the run ends (Ctrl-C included).
"""

from __future__ import annotations

import secrets as random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from corscheck.addresses import blocked_as_mixed_content
from corscheck.evaluate.model import Finding
from corscheck.evaluate.proof import Proof
from corscheck.headers import HeaderLine, serialize_origin
from corscheck.masking import MASK
from corscheck.prove.certs import accepted_target_spki, throwaway_certificate
from corscheck.prove.chromium import BrowserSetup, Chromium, PageVisit, host_rules
from corscheck.prove.pages import page
from corscheck.prove.relay import HeaderRelay
from corscheck.prove.replay import Observation, Replay, host_port, proof_of, replay_of
from corscheck.prove.server import PageServer
from corscheck.report.model import Report
from corscheck.transport.proxy import Proxy, ProxyRoutes
from corscheck.visitor import Visitor
from corscheck.websocket import http_twin

# The page that holds a sandboxed iframe for a `null` origin: a name of the reserved .example
# domain, cross-site to any target.
SANDBOX_PARENT_HOST = "sandbox-parent.corscheck.example"


@dataclass(frozen=True, slots=True)
class ProveSettings:
    """What a proof run needs besides the report: the browser, whose browser it plays, and the
    audit's own network settings and secrets (the report holds only masked copies)."""

    executable: str
    visitor: Visitor
    send_unsafe: bool = False
    insecure: bool = False
    timeout: float = 10.0
    proxy: ProxyRoutes = field(default_factory=ProxyRoutes)
    extra_headers: tuple[HeaderLine, ...] = ()
    real_urls: tuple[str, ...] = ()  # the targets as given, their secrets unmasked
    secrets: tuple[str, ...] = ()  # masked in every preview


def prove_report(report: Report, settings: ProveSettings) -> Report:
    """`report` with a proof on each finding not suppressed."""
    profile = settings.visitor.profile
    token = "prove-" + random.token_hex(6)
    unmask = Unmasker(settings.real_urls)
    plans: dict[tuple[int, int], Replay | str] = {}
    for t, target in enumerate(report.targets):
        for f, finding in enumerate(target.findings):
            if finding.suppressed is None:
                plans[t, f] = replay_of(
                    _unmasked(finding, unmask),
                    profile,
                    settings.send_unsafe,
                    token,
                    settings.extra_headers,
                    proxied=settings.proxy.active,
                )
    replays = [r for r in plans.values() if isinstance(r, Replay)]
    proofs: dict[tuple[int, int], Proof] = {
        key: Proof("unprovable", profile=profile, reason=plan)
        for key, plan in plans.items()
        if isinstance(plan, str)
    }
    if replays:
        played = _play(replays, settings, _wire_routes(report))
        for key, plan in plans.items():
            if isinstance(plan, Replay):
                proofs[key] = played[id(plan)]
    targets = tuple(
        replace(
            target,
            findings=tuple(
                replace(finding, proof=proofs[t, f]) if (t, f) in proofs else finding
                for f, finding in enumerate(target.findings)
            ),
        )
        for t, target in enumerate(report.targets)
    )
    return replace(report, targets=targets)


def _play(
    replays: list[Replay], settings: ProveSettings, wires: dict[str, tuple[str, str, int]]
) -> dict[int, Proof]:
    """Each replay's steps, page by page; its proof by the replay's id. Replays whose requests
    carried -H headers a page cannot send, and those of an https deployment judged for an http
    URL (`wires`), go through the header relay, in a browser of their own: the relay adds the
    headers and is the deployment's TLS front."""
    proofs: dict[int, Proof] = {}

    def through_relay(replay: Replay) -> bool:
        return replay.relayed or any(host_port(step.url) in wires for step in replay.steps)

    sockets = [r for r in replays if through_relay(r) and r.evidence.socket]
    for replay in sockets:
        # The relay speaks HTTP, not a WebSocket upgrade.
        proofs[id(replay)] = Proof(
            "unprovable",
            profile=replay.profile,
            reason="a socket of an https deployment judged for an http URL (or with -H) cannot go "
            "through the proof's relay yet",
        )
    replays = [r for r in replays if r not in sockets]

    with PageServer(throwaway_certificate()) as server:
        direct = [r for r in replays if not through_relay(r)]
        if direct:
            with Chromium(_browser_setup(direct, settings, server)) as browser:
                proofs |= _visit(browser, server, direct, settings, settings.extra_headers)
        relayed = [r for r in replays if through_relay(r)]
        if relayed:
            targets = {host_port(step.url) for r in relayed for step in r.steps}
            with (
                HeaderRelay(
                    settings.extra_headers,
                    targets,
                    server.cert_file,
                    server.key_file,
                    insecure=settings.insecure,
                    timeout=settings.timeout,
                    wires=wires,
                ) as relay,
                Chromium(_browser_setup(relayed, settings, server, relay.where)) as browser,
            ):
                proofs |= _visit(browser, server, relayed, settings, ())
    return proofs


def _wire_routes(report: Report) -> dict[str, tuple[str, str, int]]:
    """The judged https `host:port` of each target audited as the deployment its http URL stands
    for (deployment.py), and the scheme, host and port its requests go to."""
    routes: dict[str, tuple[str, str, int]] = {}
    for target in report.targets:
        if target.given_url:
            given = urlsplit(target.given_url)
            routes[host_port(target.url)] = (given.scheme, given.hostname or "", given.port or 80)
    return routes


def _visit(
    browser: Chromium,
    server: PageServer,
    replays: list[Replay],
    settings: ProveSettings,
    page_headers: tuple[HeaderLine, ...],
) -> dict[int, Proof]:
    """The replays' pages in `browser`, each step's page carrying `page_headers` (the -H headers
    the browser adds itself) but those the step withheld."""
    proofs: dict[int, Proof] = {}
    for replay in replays:
        visits = []
        for step in replay.steps:
            path = server.add(f"{len(server.pages)}", page(step))
            page_url = page_origin(step.origin, step.url) + path
            headers = tuple(h for h in page_headers if h[0] not in step.withheld)
            # A socket's handshake is no request event of the page: nothing to watch for it.
            watched = "" if step.socket else step.url
            visits.append(browser.visit(page_url, watched=watched, headers=headers))
        proofs[id(replay)] = proof_of(
            replay, observation(visits[-1]), browser.version, settings.secrets
        )
    return proofs


def _browser_setup(
    replays: list[Replay], settings: ProveSettings, server: PageServer, relay: str = ""
) -> BrowserSetup:
    """The browser of these replays: each page's host:port mapped to the page server, the targets
    (and the proxy) to themselves; the page certificate and each target certificate corscheck
    accepts pinned; the visitor's cookies for every target. With a `relay` (host:port), every
    target is reached through it, and it checks the targets' certificates as corscheck does."""
    pages: dict[str, int] = {}
    targets: list[str] = []
    for replay in replays:
        for step in replay.steps:
            origin = page_origin(step.origin, step.url)
            pages[host_port(origin)] = server.port(urlsplit(origin).scheme)
            targets.append(host_port(step.url))
    proxy = settings.proxy
    if relay:
        host, _, port = relay.rpartition(":")
        proxy = ProxyRoutes(Proxy(host, int(port)), Proxy(host, int(port)))
    targets += [p.where for p in (proxy.http, proxy.https) if p is not None]
    # A ws(s) URL's cookies are its http(s) twin's (websocket.py).
    target_origins = list(
        dict.fromkeys(serialize_origin(http_twin(s.url)) for r in replays for s in r.steps)
    )
    accepted = (
        ()
        if relay
        else (accepted_target_spki(o, settings.insecure, settings.timeout) for o in target_origins)
    )
    visitor = settings.visitor
    return BrowserSetup(
        executable=settings.executable,
        profile=visitor.profile,
        host_rules=host_rules(pages, targets),
        spki=(server.certificate.spki, *(spki for spki in accepted if spki)),
        # A partitioned cookie is keyed to the API's own site, which a jar set from outside
        # cannot say; a Cookie given with -H goes with the page's -H headers instead.
        cookies=tuple(
            (origin, cookie)
            for origin in target_origins
            for cookie in visitor.cookies
            if not cookie.partitioned and not visitor.bypassed
        ),
        proxy=proxy,
        direct=(
            *(where.rsplit(":", 1)[0].strip("[]") for where in pages),
            *proxy.no_proxy,
        ),
    )


def page_origin(origin: str, url: str) -> str:
    """Where the page of a fetch() from `origin` is loaded: the origin itself, or for `null` the
    page holding the sandboxed iframe, on https as an attacker would serve it (Chromium 156 sends
    no SameSite=None cookie from a sandboxed iframe in an http page, even with third-party cookies
    allowed), unless mixed content would block its fetch() of `url`."""
    if origin != "null":
        return origin
    parent = f"https://{SANDBOX_PARENT_HOST}"
    blocked = blocked_as_mixed_content(parent, http_twin(url))
    return f"http://{SANDBOX_PARENT_HOST}" if blocked else parent


def observation(visit: PageVisit) -> Observation:
    """What a page reported, as the pure judge takes it."""
    result: dict[str, Any] | None = visit.result
    if result is None:
        return Observation(resolved=False, console=visit.console, timed_out=True)
    return Observation(
        resolved=bool(result["resolved"]),
        status=result["status"],
        bytes_read=int(result["bytes"]),
        text=str(result["text"]),
        headers=tuple((str(n), None if v is None else str(v)) for n, v in result["headers"]),
        error=str(result["error"]),
        console=visit.console,
        cookie=visit.cookie,
    )


class Unmasker:
    """The report's URLs hold `****` where the targets had secret query values; the replay needs the
    real ones, which only the run's own targets still have. Textual, so that every other byte of
    the URL stays as the audit sent it."""

    def __init__(self, real_urls: Iterable[str]) -> None:
        self._real: dict[tuple[str, str, str], dict[str, str]] = {}
        for url in real_urls:
            parts = urlsplit(url)
            key = (parts.scheme, parts.netloc.rpartition("@")[2], parts.path)
            self._real[key] = dict(_pairs(parts.query))

    def __call__(self, url: str) -> str:
        if MASK not in url:
            return url
        parts = urlsplit(url)
        host = parts.netloc.rpartition("@")[2]
        same_host = [q for (s, h, _), q in self._real.items() if (s, h) == (parts.scheme, host)]
        real = self._real.get((parts.scheme, host, parts.path)) or next(iter(same_host), None)
        if real is None:
            return url
        query = "&".join(
            f"{k}={real.get(k, v) if v == MASK else v}" if sep else k
            for k, sep, v in (pair.partition("=") for pair in parts.query.split("&"))
        )
        return urlunsplit(parts._replace(query=query))


def _pairs(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, _, v in (p.partition("=") for p in query.split("&") if p)]


def _unmasked(finding: Finding, unmask: Unmasker) -> Finding:
    evidence = finding.evidence
    return replace(
        finding,
        target=unmask(finding.target),
        evidence=replace(evidence, url=unmask(evidence.url) if evidence.url else ""),
    )
