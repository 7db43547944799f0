"""One fetch() from one origin, sent for real and judged: the library side of `corscheck probe`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from corscheck.browser import Exchange, Probe, Verdict, judge
from corscheck.masking import masked
from corscheck.report.model import exchange_to_dict, request_to_dict, verdict_to_dict
from corscheck.runner import Runner, RunOptions, Transport


@dataclass(frozen=True, slots=True)
class ProbeReport:
    probe: Probe
    exchange: Exchange
    verdict: Verdict

    def to_dict(self) -> dict[str, Any]:
        """The stable `corscheck probe --format json` contract (DESIGN.md)."""
        return {
            "schema": "corscheck.probe/1",
            "browser": verdict_to_dict(self.verdict),
            "request": request_to_dict(self.probe),
            "exchange": exchange_to_dict(self.exchange),
        }


async def run_probe(
    probe: Probe,
    *,
    timeout: float = 10.0,
    send_unsafe: bool = False,
    insecure: bool = False,
    secrets: tuple[str, ...] = (),
    proxy: str | None = None,
    trust_env: bool = True,
    transport: Transport | None = None,
) -> ProbeReport:
    """Send what a browser would send for `probe` and judge the answers. Raises TargetError.

    `proxy` and `trust_env` as RunOptions; `transport` replaces the network (an in-process app)."""
    options = RunOptions(
        concurrency=1,
        per_host=1,
        timeout=timeout,
        send_unsafe=send_unsafe,
        insecure=insecure,
        proxy=proxy,
        trust_env=trust_env,
    )
    async with Runner(options, transport) as runner:
        exchange = await runner.exchange(probe)
    return masked(ProbeReport(probe, exchange, judge(probe, exchange)), secrets)
