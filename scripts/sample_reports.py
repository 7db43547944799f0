"""Regenerates sample_reports/: the demo API's audit in every output format, and proved in
Chromium (demo-prove.txt).

python scripts/sample_reports.py
"""

from __future__ import annotations

from pathlib import Path

from corscheck.audit import audit
from corscheck.config import AuditConfig
from corscheck.deliver import proven, settings_for
from corscheck.demo import demo_config, serve_demo
from corscheck.report import EXTENSIONS, renderer
from corscheck.report.console import render as render_console
from corscheck.report.model import Report

OUT = Path(__file__).resolve().parent.parent / "sample_reports"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    with serve_demo() as base:
        config = demo_config(base)
        report = audit(config)
        proved = _proved(config, report)
    (OUT / "demo.txt").write_text(render_console(report, width=100), encoding="utf-8")
    if proved is not None:
        (OUT / "demo-prove.txt").write_text(render_console(proved, width=100), encoding="utf-8")
    (OUT / "demo-verbose.txt").write_text(
        render_console(report, width=160, verbose=True), encoding="utf-8"
    )
    for extension, name in EXTENSIONS.items():
        if name != "console":
            (OUT / f"demo{extension}").write_text(renderer(name)(report), encoding="utf-8")
    screenshot(OUT / "demo.html", OUT / "report.png")
    print(f"wrote {sorted(p.name for p in OUT.iterdir())}")


def _proved(config: AuditConfig, report: Report) -> Report | None:
    """`corscheck demo --prove`'s report (None where Chromium is not installed)."""
    if not Path(CHROMIUM).exists():
        print("no Chromium: demo-prove.txt not refreshed")
        return None
    return proven(report, settings_for(config, CHROMIUM), quiet=True)


def screenshot(page_path: Path, png: Path) -> None:
    """The HTML report as headless Chromium shows it (skipped where Chromium is not installed)."""
    if not Path(CHROMIUM).exists():
        print("no Chromium: screenshot not refreshed")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_path.resolve().as_uri())
        page.screenshot(path=str(png))
        browser.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


if __name__ == "__main__":
    main()
