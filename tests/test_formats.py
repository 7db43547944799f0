"""Every output format renders the demo's report: structure checked, and the escaping rules of each."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from corscheck.audit import Target, audit
from corscheck.demo import DEMO_POLICY, demo_urls, serve_demo
from corscheck.report import EXTENSIONS, FORMATS, format_for_path, renderer
from corscheck.report.github import escape_data, escape_property
from corscheck.report.model import Report
from corscheck.rules import CATALOG


@pytest.fixture(scope="module")
def report() -> Report:
    with serve_demo() as base:
        return audit([Target(url, DEMO_POLICY) for url in demo_urls(base)])


def test_every_format_and_extension_is_wired() -> None:
    assert set(EXTENSIONS.values()) <= set(FORMATS)
    assert format_for_path("out/report.sarif") == "sarif"
    assert format_for_path("junit.XML") == "junit"


def test_markdown_summary_and_findings(report: Report) -> None:
    text = renderer("markdown")(report)
    assert text.startswith("## corscheck: ❌ failed")
    assert "| critical | high | medium | low | errors |" in text
    assert "`any-origin-with-credentials`" in text
    assert "<details><summary>Fixes</summary>" in text


def test_github_annotations(report: Report) -> None:
    lines = renderer("github")(report).splitlines()
    assert len(lines) == len(report.findings())
    assert all(
        line.startswith(("::error title=", "::warning title=", "::notice title=")) for line in lines
    )
    assert any("any-origin-with-credentials" in line for line in lines)


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("k: v, w", "k: v, w", "k%3A v%2C w"),
    ],
    ids=["percent", "newlines", "separators"],
)
def test_workflow_command_escaping(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_junit_counts(report: Report) -> None:
    root = ET.fromstring(renderer("junit")(report))
    suites = root.findall("testsuite")
    assert len(suites) == len(report.targets)
    for suite, target in zip(suites, report.targets, strict=True):
        assert int(suite.get("tests", "0")) == len(CATALOG)
        assert int(suite.get("failures", "0")) == len({f.rule.id for f in target.findings})
        assert suite.get("name") == target.url
    failure = root.find(".//testcase[@name='any-origin-with-credentials']/failure")
    assert failure is not None and "Access-Control-Allow-Credentials: true" in (failure.text or "")


def test_sarif_structure(report: Report) -> None:
    sarif = json.loads(renderer("sarif")(report))
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in CATALOG]
    assert all("security-severity" in r["properties"] for r in rules)
    results = run["results"]
    assert len(results) == len(report.findings())
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
            "http"
        )
        assert len(result["partialFingerprints"]["corscheckFinding/v1"]) == 32
    again = json.loads(renderer("sarif")(report))
    assert [r["partialFingerprints"] for r in again["runs"][0]["results"]] == [
        r["partialFingerprints"] for r in results
    ]


def report_schema() -> dict[str, object]:
    from importlib import resources

    text = resources.files("corscheck").joinpath("data/report.schema.json").read_text("utf-8")
    schema: dict[str, object] = json.loads(text)
    return schema


def test_json_report_validates_against_the_shipped_schema(report: Report) -> None:
    import jsonschema

    jsonschema.validate(json.loads(renderer("json")(report)), report_schema())


def test_schema_rejects_a_report_that_breaks_the_contract(report: Report) -> None:
    import jsonschema

    broken = json.loads(renderer("json")(report))
    broken["targets"][0]["findings"][0]["severity"] = "catastrophic"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, report_schema())


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.chromium
def test_html_report_in_headless_chromium(report: Report, tmp_path: object) -> None:
    """Self-contained: it loads with no console error and no request beyond the file itself."""
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    playwright_api = pytest.importorskip("playwright.sync_api")
    html = renderer("html")(report)
    assert "<script" not in html and "http-equiv" not in html
    page_path = Path(str(tmp_path)) / "report.html"
    page_path.write_text(html, encoding="utf-8")
    requests: list[str] = []
    problems: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on(
            "console",
            lambda message: problems.append(message.text) if message.type == "error" else None,
        )
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(page_path.as_uri())
        title = page.title()
        findings_shown = page.locator(".finding").count()
        browser.close()
    assert problems == []
    assert requests == [page_path.as_uri()]
    assert title == "corscheck report"
    assert findings_shown == len(report.findings())
