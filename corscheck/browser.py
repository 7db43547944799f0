"""The Fetch standard's CORS rules as Chromium applies them. Pure: plain data in, plain data out.

Rule ids in comments refer to ../shared/CORS-RULES.md (REQ-*, CHECK-*, PRE-*, RESP-*).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from corscheck.headers import HeaderLine, HeaderList

Credentials = Literal["omit", "same-origin", "include"]
Step = Literal["request", "preflight", "actual", "redirect"]


@dataclass(frozen=True, slots=True)
class Probe:
    """One simulated `fetch(url, {method, headers, credentials, mode: "cors"})` from a page on `origin`.

    `origin` is the page's serialized origin ("null" for an opaque one). `method` is as the page wrote
    it (normalization is the browser's job). `headers` are the page's request headers.
    `extra_headers` are the user's own `-H` headers: sent with every request as given, never judged.
    """

    url: str
    origin: str
    method: str = "GET"
    headers: tuple[HeaderLine, ...] = ()
    credentials: Credentials = "omit"
    extra_headers: tuple[HeaderLine, ...] = ()


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request exactly as it goes on the wire."""

    method: str
    url: str
    headers: tuple[HeaderLine, ...]


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response head: status and raw header lines. Bodies are never read."""

    status: int
    headers: HeaderList
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Hop:
    """One request sent and what came back."""

    kind: Literal["preflight", "actual"]
    request: Request
    response: Response


@dataclass(frozen=True, slots=True)
class Exchange:
    """Everything sent for one probe, in order: preflights, the actual request and its redirects.

    `unsent` says why the browser's next request was not sent (an unsafe actual request without
    --send-unsafe), or is None when the chain ran to its end.
    """

    hops: tuple[Hop, ...] = ()
    unsent: Request | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a browser does with an exchange."""

    allowed: bool
    preflight: bool
    reason_id: str | None = None
    reason: str | None = None
    failed_step: Step | None = None
    readable_headers: tuple[str, ...] = ()
    actual_checked: bool = True
    notes: tuple[str, ...] = field(default=())
