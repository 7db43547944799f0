"""Drives each probe's request chain through a transport (transport/), within the run's limits: total
and per-host concurrency, pacing, retries on connection errors, and the safety gate that keeps unsafe
methods unsent without --send-unsafe."""

from __future__ import annotations

import asyncio
import math
import signal
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from functools import lru_cache
from types import TracebackType
from typing import NamedTuple, TypeVar, cast
from urllib.parse import urlsplit

from corscheck.browser import Probe, Verdict, advance, judge
from corscheck.deployment import AS_GIVEN, Wire
from corscheck.errors import TargetError
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import chain_of
from corscheck.runner.order import OrderedSemaphore
from corscheck.runner.pacing import TokenBucket
from corscheck.transport import Transport, network_transport
from corscheck.transport.options import RunOptions
from corscheck.transport.websocket import Handshake, sec_websocket_key
from corscheck.websocket import constructor_error, handshake_lines, handshake_verdict

T = TypeVar("T")
SAFE_METHODS = frozenset({"OPTIONS", "GET", "HEAD"})
MAX_HOPS = 25  # 20 redirects (the browser's limit) plus their preflights, bounded either way


# A target's preflights by request, each answered once (Runner.judged_exchange).
Preflights = dict[Request, "asyncio.Future[Response]"]


class Runner:
    """Drives each probe's request chain through a transport, within the run's limits."""

    def __init__(self, options: RunOptions, transport: Transport | None = None) -> None:
        self.options = options
        # A transport given is the caller's to close (open_transport); one made here is the runner's.
        self._owned = transport is None
        self._transport = transport or network_transport(options)
        # Slots go to the earliest target first (order.py), so targets finish in input order.
        self._in_flight = OrderedSemaphore(options.concurrency)
        self._per_host: dict[str, OrderedSemaphore] = {}
        self._buckets: dict[str, tuple[TokenBucket, asyncio.Lock]] = {}
        self._sent = 0
        # Rate limiting (rate_limited): hosts that answered, how often each limited the run, and
        # those slowed down for it.
        self._answered: set[str] = set()
        self._limited: dict[str, int] = {}
        self._paces: dict[str, float] = {}  # hosts slowed down, and the pace each was slowed to
        self._pace_changes: dict[str, int] = {}
        # Worker processes (share_hosts) divide a slowed host's pace and tell each other what they
        # learn of a host: its limits are the host's, however many processes send to it.
        self._processes = 1
        self._tell: Callable[[HostNews], None] | None = None

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._owned:
            await self._transport.aclose()

    @property
    def makes_handshakes(self) -> bool:
        """Whether the transport makes WebSocket handshakes (the network's and an ASGI app's do;
        a WSGI app has no sockets, a mocked client none)."""
        return hasattr(self._transport, "handshake")

    @property
    def requests_sent(self) -> int:
        return self._sent

    async def exchange(self, probe: Probe) -> Exchange:
        """Everything a browser sends for `probe`, and the answers. Raises TargetError."""
        exchange, _ = await self.judged_exchange(probe)
        return exchange

    async def judged_exchange(
        self, probe: Probe, preflights: Preflights | None = None
    ) -> tuple[Exchange, Verdict]:
        """The exchange, and the browser's verdict on it for the chain's own probe: the walk that
        finds the chain's end has judged it already. Raises TargetError.

        `preflights` (one per target) shares the answer to a preflight among the chains that send
        the very same one: a preflight never carries cookies, so the chain of a credentialed probe
        with the visitor's cookie and its cookie-less twin ask the same question."""
        # `omit` has the fewest checks, so the chain it drives is the longest any credentials mode
        # would send: one chain serves every mode that sends no cookie (plan.py).
        driver = chain_of(probe)
        hops: list[Hop] = []
        for _ in range(MAX_HOPS):
            outcome = advance(driver, hops)
            if outcome.next is None:
                return Exchange(tuple(hops)), outcome.verdict
            kind, request = outcome.next
            if request.method not in SAFE_METHODS and not self.options.send_unsafe:
                exchange = Exchange(tuple(hops), unsent=request)
                return exchange, judge(driver, exchange)
            if kind == "preflight" and preflights is not None:
                answer = preflights.get(request)
                if answer is None:
                    answer = preflights[request] = asyncio.ensure_future(self.send(request))
                response = await asyncio.shield(answer)
            else:
                response = await self.send(request)
            hops.append(Hop(kind, request, response))
        exchange = Exchange(tuple(hops))
        return exchange, judge(driver, exchange)

    async def send(self, request: Request) -> Response:
        """One request within the concurrency, per-host and rate limits; connection errors retried."""
        if request.method not in SAFE_METHODS and not self.options.send_unsafe:
            raise AssertionError(
                f"safety gate: {request.method} without --send-unsafe"
            )  # a bug, not input
        wire = WIRE.get()
        host = _host_key(request.url)
        async with self._host_slot(host), self._in_flight:
            limited = 0
            for attempt in range(self.options.retries + self.options.rate_limit_tries + 1):
                await self._pace(host)
                pace = self._pace_changes.get(host, 0)
                try:
                    self._sent += 1
                    response = await self._transport.send(wired(request, wire))
                except TargetError as error:
                    if error.kind != "connect" or attempt - limited >= self.options.retries:
                        raise
                    await asyncio.sleep(0.2 * 2 ** (attempt - limited))
                    continue
                wait = rate_limited(response, host in self._answered)
                if wait is None:
                    self._note_answer(host)
                    return unwired(response, wire)
                if not self.options.rate_limit_tries:
                    return unwired(response, wire)  # taken as it comes, as a page takes it
                limited += 1
                self._limited[host] = self._limited.get(host, 0) + 1
                if pace == self._pace_changes.get(host, 0):
                    # Requests sent at the pace that was too fast slow it down once together.
                    self._slow_down(host)
                if limited > self.options.rate_limit_tries:
                    raise TargetError(
                        "rate-limited",
                        f"the server rate-limited the audit ({response.status} after "
                        f"{limited} tries, slowing down each time); its answers then say nothing "
                        "of its CORS: rerun slower, e.g. --rate 2/s",
                    )
                await asyncio.sleep(min(wait, _MAX_RETRY_AFTER) or 0.5 * 2 ** (limited - 1))
        raise AssertionError("unreachable")

    async def handshake(self, request: Request) -> Handshake:
        """A WebSocket handshake (transport/websocket.py) within the concurrency, per-host and rate
        limits, sent once: a page's socket is not retried either. Raises TargetError."""
        wire = WIRE.get()
        host = _host_key(request.url)
        async with self._host_slot(host), self._in_flight:
            await self._pace(host)
            self._sent += 1
            answer: Handshake = await self._transport.handshake(  # type: ignore[attr-defined]
                wired(request, wire), self.options
            )
            self._note_answer(host)
            return answer

    async def open_socket(self, probe: Probe) -> tuple[Exchange, Verdict, bytes | None]:
        """`new WebSocket(probe.url)` from a page on the probe's origin (websocket.py): the
        handshake sent once, as that page's browser sends it, what the page gets, and the start of
        the socket's first message (None: none came, or nothing was sent). Raises TargetError."""
        thrown = constructor_error(probe.origin, probe.url)
        if thrown is not None:
            return Exchange(), handshake_verdict(None, None, thrown), None
        lines = handshake_lines(
            probe.origin, probe.cookie, sec_websocket_key(), probe.extra_headers
        )
        request = Request("GET", probe.url, lines)
        answer = await self.handshake(request)
        verdict = handshake_verdict(answer.response.status, answer.close_code, None)
        return Exchange((Hop("actual", request, answer.response),)), verdict, answer.first_message

    def _host_slot(self, host: str) -> OrderedSemaphore:
        """The host's share of the per-host limit, made on its first request."""
        per_host = self._per_host.get(host)
        if per_host is None:
            per_host = self._per_host[host] = OrderedSemaphore(self.options.per_host)
        return per_host

    def has_answered(self, url: str) -> bool:
        """Whether the host of `url` has answered a request of this run (a rate limit aside)."""
        return _host_key(url) in self._answered

    def rate_limits(self, host_of: str) -> RateLimits:
        """How often the host of the URL `host_of` rate-limited the run so far, and the pace it
        was slowed to (None: never): the host's, however many processes share it."""
        host = _host_key(host_of)
        return RateLimits(self._limited.get(host, 0), self._paces.get(host))

    def share_hosts(self, processes: int, tell: Callable[[HostNews], None]) -> None:
        """This runner is one of `processes` that send to the same hosts (runner/workers.py): it
        keeps its part of a slowed host's pace, and `tell`s the others what it learns of a host;
        `hear` takes what they learn."""
        self._processes = processes
        self._tell = tell

    def hear(self, news: HostNews) -> None:
        """What another process learnt of a host: that it answers, or the slower pace it was slowed
        to, which this one keeps too (never a faster one)."""
        if news.slowed_to is None:
            self._answered.add(news.host)
        elif news.slowed_to < self._paces.get(news.host, math.inf):
            self._set_pace(news.host, news.slowed_to)

    def _note_answer(self, host: str) -> None:
        if host not in self._answered:
            self._answered.add(host)
            if self._tell is not None:
                self._tell(HostNews(host))

    def _slow_down(self, host: str) -> None:
        """After a rate-limited answer the host gets half the pace it had (5/s when it had no
        limit), down to one request every two seconds, for the rest of the run."""
        bucket = self._buckets.get(host)
        current = self._paces.get(host) or (
            bucket[0].rate * self._processes if bucket is not None else _FIRST_SLOW_RATE * 2
        )
        slower = max(current / 2, _SLOWEST_RATE)
        self._set_pace(host, slower)
        if self._tell is not None:
            self._tell(HostNews(host, slower))

    def _set_pace(self, host: str, pace: float) -> None:
        # A new pace: requests sent at the old one that come back limited do not slow it again.
        self._pace_changes[host] = self._pace_changes.get(host, 0) + 1
        self._paces[host] = pace
        bucket = self._buckets.get(host)
        lock = bucket[1] if bucket is not None else asyncio.Lock()
        self._buckets[host] = (TokenBucket(pace / self._processes), lock)

    async def _pace(self, host: str) -> None:
        """Waits for the host's token bucket (pacing.py) to admit one request, in arrival order."""
        bucket = self._buckets.get(host)
        if bucket is None:
            if self.options.rate is None:
                return
            bucket = self._buckets[host] = (TokenBucket(self.options.rate), asyncio.Lock())
        tokens, queue = bucket
        async with queue:
            # Bounded: each wait is as long as the bucket asks, so the next take succeeds unless
            # the clock stood still; a clock that never moves is a bug, not a reason to spin.
            for _ in range(1000):
                wait = tokens.take()
                if wait == 0.0:
                    return
                await asyncio.sleep(wait)
        raise AssertionError("the rate limiter's clock does not advance")


_MAX_RETRY_AFTER = 5.0  # seconds: a longer Retry-After is not waited out within one run
_FIRST_SLOW_RATE = 5.0  # requests a second, for a host that limited a run without --rate
_SLOWEST_RATE = 0.5


class RateLimits(NamedTuple):
    times: int
    slowed_to: float | None


class HostNews(NamedTuple):
    """What a runner learnt of a host: that it answers (`slowed_to` None), or that it rate-limits
    and was slowed to `slowed_to` requests a second. `line` and `read` carry it between processes."""

    host: str  # as _host_key writes it
    slowed_to: float | None = None

    def line(self) -> str:
        return f"{'answers' if self.slowed_to is None else repr(self.slowed_to)} {self.host}"

    @classmethod
    def read(cls, line: str) -> HostNews:
        pace, _, host = line.partition(" ")
        return cls(host, None if pace == "answers" else float(pace))


def rate_limited(response: Response, answered_before: bool = False) -> float | None:
    """Seconds to wait when `response` is the server protecting itself, else None: a 429; a 503
    with a Retry-After; or a plain 503 from a host that answered otherwise before in this run (nginx's
    limit_req answers 503 by default, without Retry-After). Such an answer says nothing of the
    server's CORS and is never judged. 0.0 when it names no delay (the caller backs off itself)."""
    after = response.headers.combined("Retry-After")
    if response.status != 429 and not (
        response.status == 503 and (after is not None or answered_before)
    ):
        return None
    delay = (after or "").strip()
    return float(delay) if delay.isdigit() else 0.0


@lru_cache(maxsize=4096)
def _host_key(url: str) -> str:
    """The scheme and authority of `url` (userinfo left out): what the per-host limits count."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2].lower()}"


def run_async(main: Coroutine[object, object, T], *, interruptible: bool = True) -> T:
    """Run `main` on uvloop when it is installed (about twice the request rate here), else asyncio's
    loop. Ctrl-C stops it once: KeyboardInterrupt when `main` has closed what it had open. Not
    `interruptible` (a worker process, runner/workers.py): Ctrl-C is left as it is set."""
    try:
        import uvloop
    except ImportError:
        factory = None
    else:
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        outcome = runner.run(_interruptible(main) if interruptible else main)
    if outcome is _INTERRUPTED:
        raise KeyboardInterrupt
    return cast(T, outcome)


_INTERRUPTED = object()


async def _interruptible(main: Coroutine[object, object, T]) -> object:
    """`main`, cancelled by the first SIGINT (it closes its reports as partial). Any later SIGINT is
    ignored, while it does and after: asyncio's own handler would stop the loop mid-write, and
    Python's would end the exit in a traceback instead of the partial report (a double Ctrl-C,
    `timeout -s INT`)."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint() -> None:
        nonlocal interrupted
        if not interrupted and task is not None:
            interrupted = True
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGINT, on_sigint)
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signals
        return await main
    try:
        return await main
    except asyncio.CancelledError:
        if interrupted:
            return _INTERRUPTED
        raise
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        if interrupted:
            # The run is stopping and writes its partial reports on the way out: a further Ctrl-C
            # would only cut them short with a traceback.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


# The deployment the current target is judged as (deployment.py): its requests are built for the
# judged URL and sent to the URL given. Set per target, like order.PRIORITY.
WIRE: ContextVar[Wire] = ContextVar("corscheck_wire", default=AS_GIVEN)


def wired(request: Request, wire: Wire) -> Request:
    """`request` as it goes to the URL given."""
    if not wire:
        return request
    return Request(request.method, wire.outbound(request.url), request.headers)


def unwired(response: Response, wire: Wire) -> Response:
    """`response` as the judged deployment would give it: its Location on the judged origin."""
    if not wire or "location" not in response.headers:
        return response
    lines = tuple(
        (name, wire.inbound(value.strip()) if name.lower() == "location" else value)
        for name, value in response.headers.lines
    )
    return Response(response.status, HeaderList(lines), response.reason)
