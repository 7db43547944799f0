"""How requests are sent: limits, the safety gate, TLS and proxies. PURE. The transport owns these
options and their defaults; config.py resolves the run's values into them."""

from __future__ import annotations

from dataclasses import dataclass

# The origin an in-process app is served on when --base-url does not say (transport/inprocess.py).
DEFAULT_BASE_URL = "http://testserver"


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How requests are sent: limits, the safety gate, TLS and proxies (runner.py, transport/)."""

    concurrency: int = 64  # requests in flight in total
    per_host: int = 16  # requests in flight per (scheme, host, port)
    timeout: float = 10.0  # seconds for one request: connect, send, and read the response head
    retries: int = 2  # on connection errors only, with exponential backoff from 0.2 s
    # Rate-limited answers (429, 503) retried per request, each after a slow-down; 0: each answer
    # is taken as it comes, as a page's fetch() takes it (probe).
    rate_limit_tries: int = 4
    rate: float | None = None  # requests per second per host; None: no cap
    send_unsafe: bool = False  # the safety gate: without it only OPTIONS, GET and HEAD are sent
    insecure: bool = False  # skip TLS certificate verification
    proxy: str | None = None  # http://[user:password@]host:port for every target (overrides env)
    trust_env: bool = True  # without `proxy`: HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY
    max_header_bytes: int = 64 * 1024  # a larger response head is an error (too-large)
