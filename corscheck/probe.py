"""One fetch() from one origin, sent for real and judged: the library side of `corscheck probe`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corscheck.browser import Probe, judge
from corscheck.config import RunOptions
from corscheck.masking import masked, secrets_in
from corscheck.report.model import ProbeReport
from corscheck.runner import Runner
from corscheck.transport import open_transport

if TYPE_CHECKING:
    from corscheck.app import LoadedApp

# One request chain: nothing runs beside it.
PROBE_OPTIONS = RunOptions(concurrency=1, per_host=1)


async def run_probe(
    probe: Probe,
    options: RunOptions = PROBE_OPTIONS,
    *,
    app: LoadedApp | None = None,
    base_url: str | None = None,
) -> ProbeReport:
    """Send what a browser would send for `probe` (to `app` in-process when given) and judge the
    answers, secrets masked as in every report. Raises TargetError."""
    secrets = secrets_in([probe.url], (*probe.headers, *probe.extra_headers))
    async with (
        open_transport(options, app, base_url) as transport,
        Runner(options, transport) as run,
    ):
        exchange = await run.exchange(probe)
    return masked(ProbeReport(probe, exchange, judge(probe, exchange)), secrets)
