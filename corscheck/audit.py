"""Runs an audit: targets + policy → plan → exchanges → verdicts → follow-up round → findings → report.

The only orchestration module: the pure stages live in config.py, plan.py, browser.py and evaluate/,
the request limits in runner.py and every byte on the network in transport/.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Generic, TypeVar

from corscheck import __version__
from corscheck.browser import Probe, Verdict, judge
from corscheck.config import AuditConfig
from corscheck.deployment import Wire, judged_url
from corscheck.errors import CorscheckError, TargetError, UsageError
from corscheck.evaluate import Finding, ProbeResult, evaluate, judge_results, stack_of
from corscheck.evaluate.cache import CacheTrialRun, cache_suspected
from corscheck.evaluate.regex_findings import drift_notes
from corscheck.evaluate.websocket import AGAIN, websocket_findings
from corscheck.exchange import Exchange
from corscheck.gate import Gate
from corscheck.masking import mask_url, mask_userinfo, masked
from corscheck.plan import (
    ALLOWED,
    CacheTrial,
    PlannedProbe,
    cache_trials,
    chain_of,
    deferred_twins,
    distinct_chains,
    estimated_requests,
    follow_up_round,
    plan_target,
    plan_websocket,
    stand_in_holds,
    twin_groups,
    twin_needed,
)
from corscheck.report.codec import checks_to_dict
from corscheck.report.model import (
    NOTHING_SENT,
    Report,
    ReportSink,
    TargetErrorRecord,
    TargetReport,
    may_hold_userinfo,
)
from corscheck.report.scope import PathScopes, granted_origins
from corscheck.runner import WIRE, HostNews, Preflights, Runner, run_async
from corscheck.runner.order import PRIORITY
from corscheck.runner.workers import Share, Workers, share_of, worker_count
from corscheck.target import Target, validate_url
from corscheck.transport import Transport, open_transport
from corscheck.websocket import (
    is_websocket_url,
)
from corscheck.wording import plural
from corscheck.written import RegexWitness, WrittenAllowList
from corscheck.written import witnesses as witnesses_of

if TYPE_CHECKING:
    from corscheck.policy import Policy
    from corscheck.transport.app import LoadedApp

T = TypeVar("T")
# Programming errors: they escape the run, and cli.py shows them as one line asking for
# CORSCHECK_DEBUG=1. Anything else raised while auditing a target is that target's error.
_BUGS = (AssertionError, AttributeError, NameError, TypeError, LookupError, RecursionError)
ProgressCallback = Callable[[int], None]  # called with the number of request chains just finished


async def audit_targets(
    config: AuditConfig,
    *,
    transport: Transport | None = None,
    progress: ProgressCallback | None = None,
    sinks: Sequence[ReportSink] = (),
    keep_probes: bool = True,
    workers: Workers[TargetReport | Slim] | None = None,
) -> Report:
    """Audit every target of `config`; a target that fails is recorded with its error and the others
    go on. `transport` replaces the network (an in-process app, a mocked one); `workers` audit the
    targets in processes of their own (`run_audit`), this one writing their reports.

    Each target's report goes to the `sinks` as soon as it and every target before it are done (in
    input order, secrets masked), so a streaming writer can emit it and the run need not hold it: with
    `keep_probes=False` the returned report keeps findings, errors and counts but not the probes and
    their responses, and memory stays flat however many targets there are.

    The config's ignores and baseline make a gate that marks each target's findings (suppressed, new
    or unchanged) before the sinks see it, and adds to the finished report what its ignores matched
    and which baseline findings are gone.
    """
    targets = config.targets
    run_options = config.options
    depth = config.depth
    gate = (
        Gate(config.ignores, config.baseline, today=date.today())
        if config.ignores or config.baseline is not None
        else None
    )
    to_mask = config.secrets()
    head = Report(
        version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        depth=depth,
        fail_on=config.fail_on,
        visitor=config.visitor.without_secrets(),
        policy_statement=config.policy_statement,
        shard=config.shard,
        deployment=config.deployment_statement(),
        warnings=tuple(masked([*config.warnings, *(gate.warnings() if gate else [])], to_mask)),
    )
    kept: list[TargetReport] = []
    # The runner first: a setting it refuses (a proxy it cannot speak to) stops the run before any
    # report begins. Once one has begun, every way out of the loop ends it as a whole document.
    async with Runner(run_options, transport) as runner:
        live = list(sinks)

        def on_finished(report: TargetReport) -> None:
            # A sink that counts (the progress line) hears of each target as it ends, before the
            # targets ahead of it are done; nothing of it is shown, so it is not masked yet.
            for sink in live:
                heard = getattr(sink, "finished", None)
                if heard is not None:
                    heard(report)

        # A window of targets in flight bounds memory; it is wide enough that a target's many
        # chains and its neighbours' keep every allowed connection busy.
        window = 2 * run_options.concurrency
        source: _InOrder[TargetReport] | Workers[TargetReport | Slim]
        reports: AsyncIterator[TargetReport | Slim]
        if workers is None:
            jobs = (_audit_one(runner, t, config, progress, n) for n, t in enumerate(targets))
            source = _InOrder(jobs, window, on_finished)
            reports = source.results()
        else:
            source = workers
            reports = workers.results(
                len(targets), window, lambda sent: on_finished(Slim.report_of(sent))
            )
        scopes = PathScopes()

        def processed(sent: TargetReport | Slim, target: Target) -> TargetReport:
            report, granted = (
                (sent.report, sent.granted) if isinstance(sent, Slim) else (sent, None)
            )
            if target.source or target.route:
                report = replace(report, source=target.source, route=target.route)
            report = scopes.observe(report, granted)
            # Secrets by value; URL userinfo (in Location lines, say) by position.
            report = masked(report, to_mask, userinfo=may_hold_userinfo(report))
            return gate.mark(report) if gate is not None else report

        try:
            _broadcast(live, "begin", head)
            async for report in reports:
                report = processed(report, targets[len(kept)])
                kept.append(report if keep_probes else replace(report, probes=(), checks=None))
                _broadcast(live, "add", report)
        except BaseException:
            # Ctrl-C (the task is cancelled), a closed stdout, a bug: each report still writable
            # is closed with the targets done so far (those that ended behind a slower one too)
            # and marked partial, so it is valid JSON that `corscheck merge` reads; the exception
            # goes on.
            ahead: list[TargetReport] = []
            with contextlib.suppress(Exception):
                ahead = [processed(report, targets[n]) for n, report in source.done_ahead()]
            for report in ahead:
                for sink in live:
                    with contextlib.suppress(Exception):
                        sink.add(report)
                kept.append(report if keep_probes else replace(report, probes=(), checks=None))
            partial = replace(head, targets=tuple(kept), partial=True)
            if gate is not None:
                partial = gate.close(partial)
            for sink in live:
                with contextlib.suppress(Exception):  # its own failure (a closed pipe) is not news
                    sink.end(partial)
            raise
    finished = replace(head, targets=tuple(kept))
    if gate is not None:
        finished = gate.close(finished)
    _broadcast(live, "end", finished)
    return finished


def _broadcast(sinks: list[ReportSink], step: str, value: object) -> None:
    """Calls `step` on every sink; one that fails is dropped from `sinks` and, once the others have
    had their call, its error is raised: a closed stdout does not cut the -o files short."""
    failure: BaseException | None = None
    for sink in list(sinks):
        try:
            getattr(sink, step)(value)
        except Exception as error:
            sinks.remove(sink)
            failure = failure or error
    if failure is not None:
        raise failure


class _InOrder(Generic[T]):
    """Runs up to `window` jobs at a time and yields their results in input order (`results`).

    A slow target holds back the output of those after it (at most its timeouts), never their work
    within the window. `on_done` hears of each result as soon as its job ends, in any order (the
    progress line counts finished targets, not written ones); `done_ahead` gives, after a stop, the
    results that ended behind one still running, with their input positions.
    """

    def __init__(
        self,
        jobs: Iterable[Coroutine[object, object, T]],
        window: int,
        on_done: Callable[[T], None] | None = None,
    ) -> None:
        self._jobs = jobs
        self._window = window
        self._on_done = on_done
        self._pending: deque[asyncio.Task[T]] = deque()
        self._yielded = 0

    async def results(self) -> AsyncIterator[T]:
        pending = self._pending
        waiting = iter(self._jobs)
        try:
            while True:
                if len(pending) >= self._window:
                    yield await self._next()
                    continue
                # A job is taken only when it can start at once: a cancelled run leaves no
                # coroutine created and never awaited.
                job = next(waiting, None)
                if job is None:
                    break
                pending.append(asyncio.ensure_future(self._told(job)))
            while pending:
                yield await self._next()
        finally:
            for task in pending:
                task.cancel()

    async def _next(self) -> T:
        result = await self._pending[0]
        self._pending.popleft()
        self._yielded += 1
        return result

    async def _told(self, job: Coroutine[object, object, T]) -> T:
        result = await job
        if self._on_done is not None:
            self._on_done(result)  # within the job's own task: before anyone awaits its result
        return result

    def done_ahead(self) -> list[tuple[int, T]]:
        """The results of jobs that ended but were not yielded yet (one before them was still
        running), each with its position in the input."""
        return [
            (self._yielded + offset, task.result())
            for offset, task in enumerate(self._pending)
            if task.done() and not task.cancelled() and task.exception() is None
        ]


async def run_config(
    config: AuditConfig,
    *,
    app: LoadedApp | None = None,
    base_url: str | None = None,
    sinks: Sequence[ReportSink] = (),
    keep_probes: bool = True,
    workers: Workers[TargetReport | Slim] | None = None,
) -> Report:
    """`audit_targets` over the run's own transport: into `app` in-process when one is given (its
    lifespan around the run), else to the network with the config's options. The app's class says
    which framework it is (stack.py), unless the config says already."""
    if app is not None and config.app_framework is None:
        config = replace(config, app_framework=app.framework)
    async with open_transport(config.options, app, base_url) as transport:
        return await audit_targets(
            config, transport=transport, sinks=sinks, keep_probes=keep_probes, workers=workers
        )


def run_audit(
    config: AuditConfig,
    sinks: Sequence[ReportSink] = (),
    *,
    app: LoadedApp | None = None,
    base_url: str | None = None,
    keep_probes: bool = True,
) -> Report:
    """The whole run of `config` (into `app` when given), from a synchronous caller: the command line."""
    # An audit allocates millions of short-lived objects that hold no cycles (header lines, verdicts,
    # report dicts); at the default thresholds the cycle collector rescans the survivors hundreds of
    # times and takes about a tenth of the run, and collects next to nothing. Less often, it costs
    # nearly nothing (benchmarks/README.md); what was imported is set aside for good.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    count = _worker_processes(config, in_process=app is not None)
    workers: Workers[TargetReport | Slim] | None = None
    if count > 1:
        # Where nothing writes the probes themselves, they stay in the worker (Slim).
        slim = not keep_probes and not any(getattr(s, "wants_probes", True) for s in sinks)
        workers = Workers.fork(count, functools.partial(_work_share, config, count, slim))
    try:
        return run_async(
            run_config(
                config,
                app=app,
                base_url=base_url,
                sinks=sinks,
                keep_probes=keep_probes,
                workers=workers,
            )
        )
    finally:
        if workers is not None:
            workers.close()


def _worker_processes(config: AuditConfig, *, in_process: bool) -> int:
    """Many targets on the network: a worker process per core audits them (runner/workers.py). An
    app in-process stays in this one: its state and lifespan are this process's."""
    return 1 if in_process else worker_count(config.jobs, len(config.targets), config.options)


def _work_share(config: AuditConfig, count: int, slim: bool, share: Share) -> None:
    """A worker process's run: the targets it is handed, with its part of the run's limits; each
    report sent back whole, or `slim`."""
    to_mask = config.secrets()

    async def serve() -> None:
        async with Runner(share_of(config.options, count)) as runner:

            async def one(index: int) -> TargetReport | Slim:
                report = await _audit_one(runner, config.targets[index], config, None, index)
                return Slim.of(report, to_mask) if slim else report

            # What this worker learns of a host, the others hear, and it hears what they learn:
            # a host that rate-limits the run is paced as one process would pace it.
            runner.share_hosts(count, lambda news: share.tell(news.line()))
            await share.run(one, hear=lambda line: runner.hear(HostNews.read(line)))

    run_async(serve(), interruptible=False)


@dataclass(frozen=True, slots=True)
class Slim:
    """A target's report as a worker process sends it where nothing downstream writes the probes:
    without them (their compact JSON form in `checks`), with what PathScopes reads of them. Most of
    a report is its probes, and passing them between processes costs more than writing them."""

    report: TargetReport
    granted: tuple[str, ...]

    @classmethod
    def of(cls, report: TargetReport, to_mask: Sequence[str]) -> Slim:
        # The compact form is written from a copy masked as the parent masks the report; the rest
        # goes as it is, for the parent to judge, mask and mark as it does any report.
        shown = masked(report, to_mask, userinfo=may_hold_userinfo(report))
        checks = checks_to_dict(shown) if report.probes else None
        return cls(replace(report, probes=(), checks=checks), granted_origins(report))

    @staticmethod
    def report_of(sent: TargetReport | Slim) -> TargetReport:
        return sent.report if isinstance(sent, Slim) else sent


def announcement(config: AuditConfig, *, in_process: bool = False) -> str:
    """How many targets, request chains and requests the run is about to send (-v says it first):
    a range, since a cookie-less twin goes only where the answers need it (plan.deferred_twins),
    before any follow-up round the answers may call for; and the worker processes, if any
    (`in_process`: an app's run, which has none)."""
    chain_count = fewest = most = 0
    for target in config.targets:
        try:
            planned = plan_target(
                target.url,
                target.policy,
                config.depth,
                extra_headers=config.extra_headers,
                visitor=config.visitor,
            )
        except CorscheckError:
            continue  # a bad input line: the audit records it as that target's error
        chains = distinct_chains(planned)
        twins = deferred_twins(planned)
        chain_count += len(chains)
        most += estimated_requests(chains, config.options.send_unsafe)
        fewest += estimated_requests(
            [c for c in chains if c not in twins], config.options.send_unsafe
        )
    requests = f"{fewest:,} requests" if fewest == most else f"{fewest:,} to {most:,} requests"
    workers = _worker_processes(config, in_process=in_process)
    return (
        f"corscheck: {plural(len(config.targets), 'target')} · "
        f"{plural(chain_count, 'request chain')} · {requests}, and a follow-up round where "
        "the answers call for one" + (f"; in {workers} worker processes" if workers > 1 else "")
    )


def audit(config: AuditConfig, transport: Transport | None = None) -> Report:
    """Synchronous `audit_targets`, for scripts and tests."""
    return run_async(audit_targets(config, transport=transport))


async def _audit_one(
    runner: Runner,
    target: Target,
    config: AuditConfig,
    progress: ProgressCallback | None,
    index: int = 0,
) -> TargetReport:
    # This target's requests wait behind earlier targets' only (runner/order.py).
    PRIORITY.set(index)
    depth, extra_headers, visitor = config.depth, config.extra_headers, config.visitor
    try:
        url = validate_url(target.url)
    except UsageError as error:
        return TargetReport(
            mask_url(target.url), target.policy, errors=(TargetErrorRecord("input", str(error)),)
        )
    # The deployment judged (deployment.py): the planner, the verdicts and the findings see the
    # judged URL, the runner sends to the one given.
    given, url = url, judged_url(url, config.as_is)
    WIRE.set(Wire.of(given, url))
    shown = given if url != given else ""
    if is_websocket_url(url):
        return await _audit_websocket(runner, target, config, url, shown, progress)
    witnesses = _regex_witnesses(config.written, _owner_origins(target.policy))
    planned = plan_target(
        url, target.policy, depth, extra_headers=extra_headers, visitor=visitor, witnesses=witnesses
    )
    limited_before = runner.rate_limits(url).times
    inferred: set[Probe] = set()
    try:
        ran = await _run_planned(runner, planned, progress, inferred)
    except TargetError as error:
        return TargetReport(
            url, target.policy, given_url=shown, errors=(TargetErrorRecord(error.kind, str(error)),)
        )
    except _BUGS:
        raise
    except Exception as error:
        # Whatever else the network or a server's answer raised is this target's error, never
        # the run's; the other targets go on.
        record = TargetErrorRecord(
            "protocol", f"{type(error).__name__}: {mask_userinfo(str(error))}"
        )
        return TargetReport(url, target.policy, given_url=shown, errors=(record,))
    if not any(exchange.hops for exchange, _ in ran.values()):
        verdicts = (verdict for _, verdict in ran.values())
        return TargetReport(url, target.policy, given_url=shown, errors=(_nothing_sent(verdicts),))
    judged = _judge(planned, ran)
    second = follow_up_round(
        url, target.policy, depth, planned, judged, extra_headers=extra_headers, visitor=visitor
    )
    if second:
        try:
            ran.update(await _run_planned(runner, second, progress, inferred))
            judged += _judge(second, ran)
            planned = [*planned, *second]
        except _BUGS:
            raise
        except Exception:  # a TargetError, or a stray network error
            pass  # the first round stands; the target answered it
    results: list[ProbeResult] = judge_results(target.policy, judged)
    cache_runs: list[CacheTrialRun] = []
    if depth != "quick" and cache_suspected(results):
        trials = cache_trials(url, results, secrets.token_hex(4), extra_headers)
        cache_runs = await _run_cache_trials(runner, trials)

    def findings_of(results: list[ProbeResult]) -> list[Finding]:
        return evaluate(
            url,
            target.policy,
            results,
            config.framework,
            visitor,
            app_framework=config.app_framework,
            cache_runs=cache_runs,
            witnesses=witnesses,
            drift_from=config.written if config.drift else None,
        )

    findings = findings_of(results)
    # Bounded: each pass sends at least one inferred twin, and there are only so many.
    for _ in range(len(inferred)):
        unsent = _unsent_witnesses(findings, url, inferred)
        if not unsent:
            break
        try:
            ran.update(await _run_chains(runner, unsent, progress, alone_first=False))
        except _BUGS:
            raise
        except Exception:
            break  # the inferred answer stands, and its verdict says it was not sent
        inferred.difference_update(unsent)
        results = judge_results(target.policy, _judge(planned, ran))
        findings = findings_of(results)
    dead_end = _answered_only_with_errors(ran)
    return TargetReport(
        url,
        target.policy,
        probes=tuple(results),
        findings=tuple(findings),
        errors=(dead_end,) if dead_end else (),
        stack=stack_of(results, config.framework, config.app_framework) if findings else None,
        notes=_rate_limit_notes(runner, url, limited_before) + _drift_notes(config, results),
        given_url=shown,
        # A preflight shared by several chains was sent once (runner.Preflights).
        requests_sent=len({id(h.response) for exchange, _ in ran.values() for h in exchange.hops})
        + sum(run.requests for run in cache_runs),
    )


async def _audit_websocket(
    runner: Runner,
    target: Target,
    config: AuditConfig,
    url: str,
    shown: str,
    progress: ProgressCallback | None,
) -> TargetReport:
    """A ws(s):// target: a handshake per origin and Cookie line (plan.plan_websocket), each sent
    once, judged as the page gets it (websocket.py), and its findings (evaluate/websocket.py)."""
    if not runner.makes_handshakes:
        record = TargetErrorRecord(
            "input",
            "a WebSocket URL is audited over the network or into an ASGI app: a WSGI app has no "
            "sockets",
        )
        return TargetReport(url, target.policy, given_url=shown, errors=(record,))
    planned = plan_websocket(
        url,
        target.policy,
        config.depth,
        extra_headers=config.extra_headers,
        visitor=config.visitor,
    )

    async def one(probe: Probe) -> tuple[Exchange, Verdict, bytes | None]:
        opened = await runner.open_socket(probe)
        if progress and opened[0].hops:
            progress(1)
        return opened

    # A handshake is what goes on the wire: the same origin and Cookie line are sent once.
    distinct = {(p.probe.origin, p.probe.cookie or ""): p.probe for p in planned}
    try:
        answers = dict(
            zip(distinct, await asyncio.gather(*(one(p) for p in distinct.values())), strict=True)
        )
    except TargetError as error:
        record = TargetErrorRecord(error.kind, str(error))
        return TargetReport(url, target.policy, given_url=shown, errors=(record,))
    judged = [(p, *answers[p.probe.origin, p.probe.cookie or ""][:2]) for p in planned]
    results = judge_results(target.policy, judged)
    messages = {key: answer[2] for key, answer in answers.items()}
    again = _message_witness(planned, messages)
    if again is not None:
        # One more cookie-less handshake: a message that changes by itself says nothing of cookies.
        with contextlib.suppress(TargetError):
            messages[again.origin, AGAIN] = (await one(again))[2]
    framework = config.framework or config.app_framework
    findings = websocket_findings(url, results, config.visitor, messages, framework)
    sent = sum(1 for exchange, _, _ in answers.values() if exchange.hops)
    if not sent:
        verdicts = (verdict for _, verdict, _ in answers.values())
        return TargetReport(url, target.policy, given_url=shown, errors=(_nothing_sent(verdicts),))
    return TargetReport(
        url,
        target.policy,
        probes=tuple(results),
        findings=tuple(findings),
        requests_sent=sent,
        given_url=shown,
    )


def _message_witness(
    planned: Sequence[PlannedProbe], messages: dict[tuple[str, str], bytes | None]
) -> Probe | None:
    """The cookie-less handshake to repeat: of a crafted origin (the unrelated one first) whose
    socket sent a first message with the visitor's cookies; a second one without them tells a
    steady message (to compare) from one that varies by itself (evaluate/websocket.py)."""
    candidates = [
        p
        for p in planned
        if p.origin_class != ALLOWED
        and not p.probe.cookie
        and any(
            q.probe.origin == p.probe.origin
            and q.probe.cookie
            and messages.get((q.probe.origin, q.probe.cookie)) is not None
            for q in planned
        )
    ]
    candidates.sort(key=lambda p: p.origin_class != "unrelated")
    return candidates[0].probe if candidates else None


def _rate_limit_notes(runner: Runner, url: str, limited_before: int) -> tuple[str, ...]:
    """What the report says when the server rate-limited the audit while this target ran."""
    limits = runner.rate_limits(url)
    if limits.times <= limited_before:
        return ()
    pace = (
        f"; corscheck slowed to {limits.slowed_to:g} requests/s for this host"
        if limits.slowed_to
        else ""
    )
    return (
        f"the server rate-limited the audit ({limits.times - limited_before} answers 429 or 503 "
        f"while this target ran){pace}. Those answers were retried, never judged: no finding "
        "rests on them",
    )


async def _run_cache_trials(runner: Runner, trials: Sequence[CacheTrial]) -> list[CacheTrialRun]:
    """Each cache trial (plan.py designs them): the primer, then the front-end's request to the same
    fresh URL, in that order; and the front-end's request alone on another. A trial the server
    does not answer is left out: the first round's findings stand."""
    runs = []
    for trial in trials:
        try:
            primed_by = await runner.exchange(trial.primer_probe)
            primed = await runner.exchange(trial.primed_probe)
            alone = await runner.exchange(trial.probe)
        except _BUGS:
            raise
        except Exception:
            continue
        sent = sum(len(e.hops) for e in (primed_by, primed, alone))
        runs.append(CacheTrialRun(trial, primed, alone, sent))
    return runs


# Each chain's exchange, and the browser's verdict on it for the chain's own probe (`omit`).
Ran = dict[Probe, tuple[Exchange, Verdict]]


def _answered_only_with_errors(ran: Ran) -> TargetErrorRecord | None:
    """The error of a target every actual request of which was answered "no such resource" (404,
    410) or a server failure (5xx): a typo or a dead route, whose CORS answers are an error page's
    and whose pass would be hollow. 401 and 403 are an API's own answers to a visitor without a
    session: judged like any other."""
    statuses = {
        hop.response.status
        for exchange, _ in ran.values()
        for hop in exchange.hops
        if hop.kind == "actual"
    }
    if not statuses or not all(s in (404, 410) or 500 <= s < 600 for s in statuses):
        return None
    shown = ", ".join(str(s) for s in sorted(statuses))
    why = (
        "is the URL right?"
        if all(s in (404, 410) for s in statuses)
        else "the server or its upstream is failing"
    )
    return TargetErrorRecord(
        "status",
        f"every request was answered {shown}: {why} Its CORS answers are an error page's, so a "
        "pass here would say nothing about the API",
    )


def _nothing_sent(verdicts: Iterable[Verdict]) -> TargetErrorRecord:
    """The error of a target the browser sent no request to: a browser refused every request before
    sending it (the target, as given, cannot be fetched), so there is no evidence and no verdict."""
    reasons = dict.fromkeys(v.reason for v in verdicts if v.reason)
    why = f": {'; '.join(reasons)}" if reasons else ""
    return TargetErrorRecord("input", f"{NOTHING_SENT}{why}")


async def _run_planned(
    runner: Runner,
    planned: Sequence[PlannedProbe],
    progress: ProgressCallback | None,
    inferred: set[Probe],
) -> Ran:
    """Runs the chains of `planned`, a cookie-less twin only where its credentialed twin's answer
    leaves it open (plan.deferred_twins). Twins whose credentialed twins were answered alike go in
    groups (plan.twin_groups): the first is sent, and where the server answered it as it answered
    the cookie, the rest are judged on their own credentialed answers and added to `inferred`. A
    twin not sent says so in its verdict's notes."""
    chains = distinct_chains(planned)
    twins = deferred_twins(planned)
    first = [c for c in chains if c not in twins]
    alone = bool(first) and not runner.has_answered(first[0].url)
    ran = await _run_chains(runner, first, progress, alone_first=alone)
    open_twins = [c for c in chains if c in twins and twin_needed(ran[twins[c]][0])]
    classes = {p.probe.origin: p.origin_class for p in planned}
    groups = twin_groups(open_twins, {c: ran[twins[c]][0] for c in open_twins}, classes)
    ran.update(await _run_chains(runner, [g[0] for g in groups], progress, alone_first=False))
    rest: list[Probe] = []
    for leader, *others in groups:
        if stand_in_holds(ran[twins[leader]][0], ran[leader][0], leader.origin):
            note = _twin_answered_alike(leader.origin)
            for chain in others:
                ran[chain] = _judged_on_own_answer(chain, ran[twins[chain]][0], note)
                inferred.add(chain)
        else:
            rest += others
    ran.update(await _run_chains(runner, rest, progress, alone_first=False))
    for chain, twin in twins.items():
        if chain not in ran:
            ran[chain] = _judged_on_own_answer(chain, ran[twin][0], _TWIN_NOT_SENT)
    return ran


@functools.lru_cache(maxsize=64)
def _regex_witnesses(
    written: WrittenAllowList | None, owners: tuple[str, ...]
) -> tuple[RegexWitness, ...]:
    """The written allow-list's regex witnesses for a policy's owner origins: once per policy."""
    return tuple(witnesses_of(written, owners)) if written is not None else ()


def _drift_notes(config: AuditConfig, results: Sequence[ProbeResult]) -> tuple[str, ...]:
    """With --config-from on a deployed URL, what the code grants that the deployment refused."""
    written = config.written if config.drift else None
    return tuple(drift_notes(results, written)) if written is not None else ()


def _owner_origins(policy: Policy | None) -> tuple[str, ...]:
    return tuple(o for o in policy.origins if "*" not in o) if policy is not None else ()


def _judged_on_own_answer(chain: Probe, answer: Exchange, note: str) -> tuple[Exchange, Verdict]:
    verdict = judge(chain, answer)
    return answer, replace(verdict, notes=(*verdict.notes, note))


_TWIN_NOT_SENT = (
    "not sent: the request with the visitor's cookie was refused plainly (a 2xx status, no CORS "
    "header, Vary: Origin), so the same request without the cookie is taken to be refused alike"
)


def _twin_answered_alike(leader: str) -> str:
    return (
        f"not sent: the server answered {leader} alike with and without the visitor's cookie, and "
        "answered this origin with the cookie as it answered that one, so the same request without "
        "the cookie is taken to be answered as it was with it"
    )


def _unsent_witnesses(
    findings: Sequence[Finding], target: str, inferred: set[Probe]
) -> list[Probe]:
    """The inferred twins a finding rests on: a finding's evidence is a request sent as shown, so
    these are sent after all. A credentialed witness is never one (its exchange is the one sent
    with the cookie, which shows the read with credentials it claims)."""
    shown = {
        (f.evidence.url or target, f.evidence.origin, f.evidence.method, f.evidence.request_headers)
        for f in findings
        if f.evidence.credentials != "include"
    }
    return [c for c in inferred if (c.url, c.origin, c.method, c.headers) in shown]


async def _run_chains(
    runner: Runner,
    chains: list[Probe],
    progress: ProgressCallback | None,
    *,
    alone_first: bool = True,
) -> Ran:
    """Runs every chain. With `alone_first` (a host that has not answered yet in this run) the
    first goes alone: if the target is down, one error says so."""
    ran: Ran = {}
    if not chains:
        return ran
    preflights: Preflights = {}
    if alone_first:
        ran[chains[0]] = await runner.judged_exchange(chains[0], preflights)
        if progress:
            progress(1)
        chains = chains[1:]

    async def one(chain: Probe) -> tuple[Probe, tuple[Exchange, Verdict]]:
        result = await runner.judged_exchange(chain, preflights)
        if progress:
            progress(1)
        return chain, result

    for chain, result in await asyncio.gather(*(one(c) for c in chains)):
        ran[chain] = result
    return ran


Judged = list[tuple[PlannedProbe, Exchange, Verdict]]  # the first round's, then the follow-up's


def _judge(planned: Sequence[PlannedProbe], ran: Ran) -> Judged:
    judged: Judged = []
    for p in planned:
        chain = chain_of(p.probe)
        exchange, chain_verdict = ran[chain]
        # The chain's own probe was judged as its exchange ran; other modes are walked here.
        verdict = chain_verdict if chain is p.probe else judge(p.probe, exchange)
        judged.append((p, exchange, verdict))
    return judged
