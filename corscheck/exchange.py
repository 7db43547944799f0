"""Wire values: a request as it goes on the wire, a response head, a hop, an exchange. PURE.

The transports build them and the Fetch model (browser.py) judges them; neither imports the other,
so every transport stands below the CORS rules, not on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from corscheck.headers import HeaderLine, HeaderList


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
