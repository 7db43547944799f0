"""After a run, the same for `audit`, `demo`, `prove` and `merge`: the findings proved in a real browser
when asked, the PoC pages written, the -o files, the report on stdout, GitHub's annotations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from corscheck.errors import ProofError, UsageError
from corscheck.masking import masked
from corscheck.report.model import Report, may_hold_userinfo
from corscheck.report.outputs import github_extras, print_report, write_outputs
from corscheck.wording import plural

if TYPE_CHECKING:
    from corscheck.config import AuditConfig
    from corscheck.prove.run import ProveSettings
    from corscheck.report.codec import Detail


@dataclass(frozen=True)
class Delivery:
    """What the user asked to happen to the finished report."""

    fmt: str = "console"
    outputs: Sequence[str] = ()  # -o paths written now (a streamed JSON report is written already)
    printed: bool = True  # False when stdout had the JSON streamed as targets finished
    verbose: bool = False
    colored: bool | None = None
    quiet: bool = False
    annotate: bool = True  # GitHub annotations and step summary (the demo writes none)
    proving: ProveSettings | None = None  # --prove: the browser and the audit's real settings
    poc: str | None = None  # --poc DIR
    detail: Detail = "compact"  # --detail: how much of each probe a JSON report keeps


def deliver(report: Report, delivery: Delivery) -> Report:
    """Prove, write the PoC pages, write the -o files, print, annotate; the report as delivered."""
    if delivery.proving is not None:
        try:
            report = proven(report, delivery.proving, quiet=delivery.quiet)
        except ProofError as error:
            # The audit stands as it is: its report and exit code, without proofs.
            typer.echo(f"corscheck: no proof was made: {error}", err=True)
    if delivery.poc is not None:
        write_pocs(report, delivery.poc)
    write_outputs(report, list(delivery.outputs), delivery.detail)
    if delivery.printed:
        print_report(report, delivery.fmt, delivery.verbose, delivery.colored, delivery.detail)
    if delivery.annotate:
        github_extras(report, annotate=delivery.fmt == "console")
    return report


def proof_browser(prove: bool, browser_path: str | None, in_process: bool) -> str | None:
    """The browser --prove drives, found before the audit starts (None without --prove)."""
    if not prove:
        if browser_path is not None:
            raise UsageError("--browser-path is the browser of --prove: add --prove")
        return None
    if in_process:
        raise UsageError(
            "--prove needs the API on the network, where a browser reaches it: serve the app "
            "(uvicorn, flask run) and audit its URL"
        )
    from corscheck.prove.chromium import find_browser

    return find_browser(browser_path)


def settings_for(config: AuditConfig, executable: str) -> ProveSettings:
    """The proof settings of an audit run: its visitor, safety gate, TLS, proxy, -H and targets,
    with their real values (the report holds masked ones)."""
    from corscheck.deployment import judged_url
    from corscheck.prove.run import ProveSettings
    from corscheck.transport.proxy import proxy_routes

    options = config.options
    return ProveSettings(
        executable=executable,
        visitor=config.visitor,
        send_unsafe=options.send_unsafe,
        insecure=options.insecure,
        timeout=options.timeout,
        proxy=proxy_routes(options.proxy, use_environment=options.trust_env, environ=os.environ),
        extra_headers=config.extra_headers,
        # The targets as given and as judged (deployment.py): the findings name the judged URL.
        real_urls=tuple(
            dict.fromkeys(
                u for t in config.targets for u in (t.url, judged_url(t.url, config.as_is))
            )
        ),
        secrets=config.secrets(),
    )


def proven(report: Report, settings: ProveSettings, *, quiet: bool) -> Report:
    """`report` with a proof on each finding, secrets masked as the audit masked them."""
    from corscheck.prove.run import prove_report

    count = len(report.findings())
    if not quiet and count:
        typer.echo(f"corscheck: proving {plural(count, 'finding')} in headless Chromium…", err=True)
    result = prove_report(report, settings)
    return replace(
        result,
        targets=tuple(
            masked(t, settings.secrets, userinfo=may_hold_userinfo(t)) for t in result.targets
        ),
    )


def write_pocs(report: Report, directory: str) -> None:
    """The PoC pages of `report`'s over-permissive findings, one file each, into `directory`."""
    from corscheck.prove.poc import poc_pages

    pages = poc_pages(report)
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for poc in pages:
            (folder / poc.name).write_text(poc.html, encoding="utf-8")
    except OSError as error:
        raise UsageError(
            f"cannot write the PoC pages into {directory!r}: {error.strerror}"
        ) from None
