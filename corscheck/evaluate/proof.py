"""A finding's proof: what a real browser did when its evidence request was replayed. PURE.

corscheck's verdict is a claim about a browser; the proof is that browser's own word, kept as data
beside the finding (never replacing it): what the page could do (read, or was blocked), whether that
agrees with the claim, and what Chromium said and read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ProofOutcome = Literal["read", "blocked", "unprovable"]
PROOF_OUTCOMES: tuple[ProofOutcome, ...] = ("read", "blocked", "unprovable")


@dataclass(frozen=True, slots=True)
class Proof:
    """The replay of one finding's evidence request in a real browser.

    `agrees` is None when the replay did not happen (`unprovable`, with `reason`). `message` is
    Chromium's own console message for a block; `preview` the start of what the page read, its
    secrets masked.
    """

    outcome: ProofOutcome
    agrees: bool | None = None
    browser: str = ""  # "Chromium 156.0.7523.0"
    profile: str = ""  # the browser profile it was played in (visitor.py)
    reason: str = ""  # why a finding is unprovable
    message: str = ""
    status: int | None = None
    bytes_read: int = 0
    preview: str = ""
    cookies: tuple[str, ...] = ()  # the names of the cookies the browser sent with the request
    claim: str = ""  # what corscheck claimed, in words: "readable, sent with cookie session"

    @property
    def proved(self) -> bool:
        return self.agrees is True

    @property
    def disproved(self) -> bool:
        return self.agrees is False

    def summary(self) -> str:
        """One line: "proved in Chromium 156: read 1,234 bytes (status 200)"."""
        if self.outcome == "unprovable":
            return f"unprovable: {self.reason}"
        browser = short_browser(self.browser)
        if self.outcome == "read":
            status = f" (status {self.status})" if self.status is not None else ""
            done = f"read {self.bytes_read:,} byte{'' if self.bytes_read == 1 else 's'}{status}"
            if self.cookies:
                done += f", sent with cookie{'s' if len(self.cookies) > 1 else ''} "
                done += ", ".join(self.cookies)
            elif self.claim.startswith("readable, sent with"):
                done += ", sent without cookies"
        else:
            done = _blocked(self.message)
        if self.agrees:
            return f"proved in {browser}: {done}"
        claim = self.claim or ("blocked" if self.outcome == "read" else "readable")
        return f"disproved: corscheck: {claim}; {browser}: {done}"


# Chromium's CORS messages start by restating the request ("Access to fetch at 'URL' from origin 'O'
# has been blocked by CORS policy: "), which the finding says already; the reason follows.
_PREAMBLE = re.compile(
    r"^Access to fetch at '.*?' from origin '.*?' has been blocked by CORS policy: "
)


def _blocked(message: str) -> str:
    """A block as a summary says it: "blocked by CORS policy: <the reason>", or the message."""
    if _PREAMBLE.match(message):
        return "blocked by CORS policy: " + _PREAMBLE.sub("", message)
    return f"blocked: {message}" if message else "blocked"


def short_browser(browser: str) -> str:
    """ "Chromium 156.0.7523.0" as "Chromium 156": the major version is what a reader compares."""
    name, _, version = browser.partition(" ")
    return f"{name} {version.split('.')[0]}" if version else browser or "the browser"


@dataclass(frozen=True, slots=True)
class ProofCounts:
    """How many findings a run's proofs proved, disproved and could not replay."""

    proved: int = 0
    disproved: int = 0
    unprovable: int = 0

    def line(self) -> str:
        return (
            f"{self.proved} proved in a real browser, {self.disproved} disproved, "
            f"{self.unprovable} unprovable"
        )


def proof_counts(proofs: list[Proof]) -> ProofCounts | None:
    """The counts of a run's proofs; None when nothing was replayed (no --prove)."""
    if not proofs:
        return None
    return ProofCounts(
        proved=sum(1 for p in proofs if p.proved),
        disproved=sum(1 for p in proofs if p.disproved),
        unprovable=sum(1 for p in proofs if p.outcome == "unprovable"),
    )
