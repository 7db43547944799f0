"""Runs an audit: targets + policy → plan → exchanges → verdicts → findings → report.

The only orchestration module: the pure stages live in plan.py, browser.py and evaluate.py, and all
network I/O in runner.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from corscheck import __version__
from corscheck.browser import Exchange, Probe, Verdict, judge
from corscheck.errors import TargetError, UsageError
from corscheck.evaluate import ProbeResult, evaluate, judge_results
from corscheck.headers import HeaderLine, parse_origin
from corscheck.plan import Depth, PlannedProbe, chain_of, distinct_chains, plan_target
from corscheck.policy import Policy
from corscheck.report.model import (
    Report,
    SourceLocation,
    TargetErrorRecord,
    TargetReport,
    masked,
    secrets_in,
)
from corscheck.runner import Runner, RunOptions, Transport, run_async

ProgressCallback = Callable[[int], None]  # called with the number of request chains just finished


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    policy: Policy | None
    source: SourceLocation | None = None  # where the policy file declares it, when it does


def validate_url(url: str) -> str:
    """The URL if corscheck can audit it; raises UsageError with a one-line reason otherwise."""
    text = url.strip()
    if not text:
        raise UsageError("empty URL")
    if any(c.isspace() for c in text):
        raise UsageError(f"URL {url!r} contains whitespace")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as error:
        raise UsageError(f"URL {url!r} is not valid: {error}") from None
    if parts.scheme not in ("http", "https"):
        if not parts.scheme or "://" not in text:
            raise UsageError(f"URL {url!r} has no scheme; write http://… or https://…")
        raise UsageError(f"URL {url!r}: scheme {parts.scheme!r} is not http or https")
    if not parts.hostname:
        raise UsageError(f"URL {url!r} has no host")
    del port
    return text


async def audit_targets(
    targets: Sequence[Target],
    *,
    depth: Depth = "standard",
    fail_on: str = "medium",
    options: RunOptions | None = None,
    extra_headers: tuple[HeaderLine, ...] = (),
    transport: Transport | None = None,
    progress: ProgressCallback | None = None,
    warnings: Sequence[str] = (),
    framework: str | None = None,
) -> Report:
    """Audit every target; a target that fails is recorded with its error and the others go on."""
    run_options = options or RunOptions()
    async with Runner(run_options, transport) as runner:
        reports = await asyncio.gather(
            *(_audit_one(runner, t, depth, extra_headers, progress, framework) for t in targets)
        )
    report = Report(
        version=__version__,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        depth=depth,
        fail_on=fail_on,
        targets=tuple(
            replace(r, source=t.source) if t.source else r
            for r, t in zip(reports, targets, strict=True)
        ),
        warnings=tuple(warnings),
    )
    secrets = secrets_in((t.url for t in targets), extra_headers)
    return masked(report, secrets)


def audit(targets: Sequence[Target], **kwargs: object) -> Report:
    """Synchronous `audit_targets`, for scripts and tests."""
    return run_async(audit_targets(targets, **kwargs))  # type: ignore[arg-type]


async def _audit_one(
    runner: Runner,
    target: Target,
    depth: Depth,
    extra_headers: tuple[HeaderLine, ...],
    progress: ProgressCallback | None,
    framework: str | None = None,
) -> TargetReport:
    try:
        url = validate_url(target.url)
    except UsageError as error:
        return TargetReport(
            target.url, target.policy, errors=(TargetErrorRecord("input", str(error)),)
        )
    planned = plan_target(url, target.policy, depth, extra_headers=extra_headers)
    try:
        exchanges = await _run_chains(runner, distinct_chains(planned), progress)
    except TargetError as error:
        return TargetReport(url, target.policy, errors=(TargetErrorRecord(error.kind, str(error)),))
    judged = _judge(planned, exchanges)
    if depth != "quick":
        # A server that answers a fixed origin trusts it: its mutations are the likeliest bypasses.
        trusted = _discovered_trusted(judged, target.policy)
        if trusted:
            second = plan_target(
                url, target.policy, depth, extra_headers=extra_headers, trusted=trusted
            )
            known = {chain_of(p.probe) for p in planned}
            second = [p for p in second if chain_of(p.probe) not in known]
            try:
                exchanges.update(await _run_chains(runner, distinct_chains(second), progress))
                judged += _judge(second, exchanges)
            except TargetError:
                pass  # the first round stands; the target answered it
    results: list[ProbeResult] = judge_results(target.policy, judged)
    findings = evaluate(url, target.policy, results, framework)
    return TargetReport(
        url,
        target.policy,
        probes=tuple(results),
        findings=tuple(findings),
        requests_sent=sum(len(e.hops) for e in exchanges.values()),
    )


async def _run_chains(
    runner: Runner, chains: list[Probe], progress: ProgressCallback | None
) -> dict[Probe, Exchange]:
    """Each chain's exchange. The first chain goes alone: if the target is down, one error says so."""
    exchanges: dict[Probe, Exchange] = {}
    if not chains:
        return exchanges
    exchanges[chains[0]] = await runner.exchange(chains[0])
    if progress:
        progress(1)

    async def one(chain: Probe) -> tuple[Probe, Exchange]:
        exchange = await runner.exchange(chain)
        if progress:
            progress(1)
        return chain, exchange

    for chain, exchange in await asyncio.gather(*(one(c) for c in chains[1:])):
        exchanges[chain] = exchange
    return exchanges


Judged = list[tuple[PlannedProbe, Exchange, Verdict]]


def _judge(planned: Sequence[PlannedProbe], exchanges: dict[Probe, Exchange]) -> Judged:
    judged: Judged = []
    for p in planned:
        exchange = exchanges[chain_of(p.probe)]
        judged.append((p, exchange, judge(p.probe, exchange)))
    return judged


def _discovered_trusted(judged: Judged, policy: Policy | None) -> list[str]:
    trusted: list[str] = []
    for planned, exchange, _ in judged:
        for hop in exchange.hops:
            value = hop.response.headers.combined("Access-Control-Allow-Origin")
            if value is None:
                continue
            origin = value.strip()
            if origin in ("*", "null", planned.probe.origin) or origin in trusted:
                continue
            if parse_origin(origin) is None:
                continue
            if policy is not None and policy.allows_origin(origin):
                continue
            trusted.append(origin)
    return trusted[:5]
