"""Exposure per browser profile: for each over-permissive finding about crafted origins, which of
them read with the visitor's cookies in each profile, which read only without them, and what they
got. PURE. The finding's own verdict and severity are those of the first profile (evaluate())."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from urllib.parse import urlsplit

from corscheck.addresses import AddressSpace, address_space
from corscheck.evaluate.build import final_response
from corscheck.evaluate.model import Exposure, Finding, ProbeResult, carries_credentials
from corscheck.plan import ALLOWED
from corscheck.visitor import Profile, fetch_site


def with_exposure(
    finding: Finding, target: str, results: Sequence[ProbeResult], profiles: Sequence[Profile]
) -> Finding:
    """`finding` with a line per profile, when it is about crafted origins that read."""
    origin_class = finding.evidence.origin_class
    if finding.rule.direction != "over-permissive" or origin_class in ("", ALLOWED):
        return finding
    origins = {finding.evidence.origin, *finding.evidence.related}
    reads = [
        r
        for r in results
        if r.planned.probe.origin in origins
        and r.planned.origin_class != ALLOWED
        and r.planned.probe.credentials == "include"
        and r.planned.aspect in ("origin", "websocket")
        and r.verdict.allowed
    ]
    exposures = []
    for profile in profiles:
        seen = [r for r in reads if r.planned.seen_by(profile)]
        with_cookies = [r for r in seen if carries_credentials(r.planned.probe)]
        # Cross-site first: those are any site the visitor opens; the finding's own witness leads.
        with_cookies.sort(
            key=lambda r: (
                fetch_site(r.planned.probe.origin, target) != "cross-site",
                r.planned.probe.origin != finding.evidence.origin,
            )
        )
        without = [r for r in seen if not carries_credentials(r.planned.probe)]
        hop = final_response(with_cookies[0].exchange) if with_cookies else None
        read_with = tuple(dict.fromkeys(r.planned.probe.origin for r in with_cookies))
        exposures.append(
            Exposure(
                profile,
                read_with,
                tuple(dict.fromkeys(r.planned.probe.origin for r in without)),
                hop.response.status if hop is not None else None,
                sum(fetch_site(origin, target) == "cross-site" for origin in read_with),
                "open" if finding.evidence.step == "handshake" else "read",
            )
        )
    if not any(e.with_cookies or e.without_cookies for e in exposures):
        return finding  # nothing read with credentials in any browser: nothing to tell apart
    return replace(finding, exposure=tuple(exposures))


# Local Network Access: the less private the page's address space, the more a fetch() is gated.
_PRIVACY: dict[AddressSpace, int] = {"public": 0, "local": 1, "loopback": 2}


def with_address_space(finding: Finding, target: str) -> Finding:
    """`finding` with a note when its evidence origin reaches the target only through Local Network
    Access: a page in a less private address space than the target's (a public site and a loopback
    or private API). The severity stands: a visitor can grant the permission."""
    if finding.rule.direction != "over-permissive" or finding.evidence.origin == "null":
        return finding
    target_space = address_space(urlsplit(target).hostname or "")
    page_host = urlsplit(finding.evidence.origin).hostname or ""
    if _PRIVACY[address_space(page_host)] >= _PRIVACY[target_space]:
        return finding
    note = (
        f"this API is on a {target_space} address: in Chromium 142+ and Firefox a public site's "
        "page reaches it only once the visitor grants a Local Network Access permission, and "
        "only from https (Safari does not ask); severity unchanged, as a visitor can grant it"
    )
    return replace(finding, notes=(*finding.notes, note))


def exposure_lines(finding: Finding) -> list[tuple[str, str]]:
    """The finding's exposure as a report shows it: the profiles that expose the same, together
    ("chrome-no-3pc, firefox, safari"), each with its summary, in the visitor's order."""
    grouped: dict[str, list[str]] = {}
    for exposure in finding.exposure:
        grouped.setdefault(exposure.summary(), []).append(exposure.profile)
    return [(", ".join(profiles), summary) for summary, profiles in grouped.items()]
