"""The rate limit of `--rate N/s`: a token bucket per host. PURE; the runner sleeps as told.

The promise, exact on the bucket's own clock: in any window of t seconds a host admits at most
`burst + rate × t` requests. A request is admitted only when a token is there at the moment it is
taken, measured on that clock, so a sleep that ends late never lets two requests through closer than
the rate allows (a schedule of slots computed ahead, which this replaces, did).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class TokenBucket:
    """`burst` tokens at most, refilled at `rate` a second; one per admitted request."""

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate > 0 and burst >= 1, got {rate}, {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def take(self) -> float:
        """Takes a token and returns 0.0; or, when none is there yet, takes nothing and returns the
        seconds until one will be."""
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        # A wait of exactly (1 - tokens) / rate may refill to 0.9999999: within rounding, a token.
        if self._tokens >= 1.0 - _ROUNDING:
            self._tokens = max(0.0, self._tokens - 1.0)
            return 0.0
        return (1.0 - self._tokens) / self.rate


_ROUNDING = 1e-9
