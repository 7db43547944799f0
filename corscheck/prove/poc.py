"""--poc DIR: a proof-of-concept page per over-permissive finding, for a triager to open. PURE (the
command writes the files).

Each page is the page a proof plays (pages.py), with instructions on top: which origin to serve it
from, and, for a same-site origin, why an attacker needs a foothold there first. It is built from
the report, whose secrets are already masked: no secret of the run is written into a page, and the
cookie comes from the triager's own logged-in browser.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

from corscheck.evaluate.model import Finding
from corscheck.masking import MASK
from corscheck.prove.pages import page
from corscheck.prove.replay import PageStep
from corscheck.report.model import Report
from corscheck.visitor import fetch_site
from corscheck.websocket import http_twin


@dataclass(frozen=True, slots=True)
class PocPage:
    name: str  # the file name: 01-any-origin-with-credentials.html
    origin: str  # where to serve it from ("null": anywhere)
    html: str


def poc_pages(report: Report) -> list[PocPage]:
    """One page per over-permissive finding (not suppressed), most severe first."""
    findings = [f for f in report.findings() if f.rule.direction == "over-permissive"]
    return [
        PocPage(f"{n:02d}-{f.rule.id}.html", f.evidence.origin, _poc(f))
        for n, f in enumerate(findings, start=1)
    ]


def _poc(finding: Finding) -> str:
    evidence = finding.evidence
    url = evidence.url or finding.target
    step = PageStep(
        evidence.origin,
        url,
        evidence.method,
        evidence.request_headers,
        evidence.credentials,
        socket=evidence.step == "handshake",  # a socket's PoC opens it; it never fetches it
    )
    return page(step, title=f"corscheck PoC: {finding.rule.id}", intro=instructions(finding, url))


def instructions(finding: Finding, url: str) -> str:
    """The top of a PoC page, as HTML: what it shows, and how to run it."""
    origin = finding.evidence.origin
    escape = html.escape
    if origin == "null":
        where = (
            "<li>Serve this file over https from any origin and open it: the request runs in a "
            "sandboxed iframe, whose origin is <code>null</code> (as a data: URL or a local file "
            "has). Over http, Chromium sends no SameSite=None cookie from a sandboxed iframe."
        )
    else:
        parts = urlsplit(origin)
        where = (
            f"<li>Serve this file from <code>{escape(origin)}</code>: for a test, map "
            f"<code>{escape(parts.hostname or '')}</code> to 127.0.0.1 in /etc/hosts and serve "
            f"the folder on port {parts.port or (443 if parts.scheme == 'https' else 80)}"
            + (" over https (a certificate the browser accepts)" if parts.scheme == "https" else "")
            + "; then open it."
        )
    socket = finding.evidence.step == "handshake"
    same_site = fetch_site(origin, http_twin(url) if socket else url) == "same-site"
    foothold = (
        f"<p><strong>Same site:</strong> {escape(origin)} is on the API's own site. An attacker "
        "serves a page there only through a foothold: a subdomain takeover (a dangling DNS record) "
        "or an XSS on any host of the site. That is the risk this finding rates.</p>"
        if same_site
        else ""
    )
    masked = (
        f"<p>The report masked a secret in the URL (<code>{MASK}</code>): put the real value into "
        "the page's script before opening it.</p>"
        if MASK in url
        else ""
    )
    credentials = (
        "<li>Log in to the API in this browser first: the page's request carries your own "
        "cookies (none of the audit's are in this file).</li>"
        if finding.evidence.credentials == "include"
        else ""
    )
    return (
        f"<h1>{escape(finding.rule.title)}</h1>"
        f"<p>{escape(finding.message)}.</p>"
        + (
            f"<p>This page opens the WebSocket from <code>{escape(origin)}</code> (it sends "
            "nothing on it) and prints whether it opened, and the socket's first message.</p>"
            if socket
            else f"<p>This page makes the request corscheck's evidence shows from "
            f"<code>{escape(origin)}</code> and prints what the browser lets it read.</p>"
        )
        + f"{foothold}{masked}<ol>{credentials}{where}</li>"
        "<li>READ with a status and the body means the attacker's page reads it; BLOCKED means "
        "the browser refused (its console says why).</li></ol>"
    )
