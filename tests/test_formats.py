"""Every output format: snapshots of a fixed report built by hand (tests/fixed_report.py), each format
checked with its own reader (the official SARIF 2.1.0 schema, a JUnit parser, a Markdown parser, the
workflow-command syntax, headless Chromium), and the demo's live report through each.

Snapshots: a change in output is a reviewed diff. After an intended change, regenerate them with
CORSCHECK_UPDATE_SNAPSHOTS=1 python3 -m pytest tests/test_formats.py and review `git diff tests/snapshots`.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from corscheck.audit import audit
from corscheck.demo import demo_config, serve_demo
from corscheck.report import EXTENSIONS, FORMATS, format_for_path, renderer
from corscheck.report.codec import Detail, encode_report
from corscheck.report.github import escape_data, escape_property
from corscheck.report.model import SCHEMA, Report
from corscheck.rules import CATALOG
from tests.fixed_report import API_KEY, SECRET, fixed_report
from tests.required import SHARED_DIR, chromium, playwright_sync_api, shared_document

SNAPSHOTS = Path(__file__).parent / "snapshots"
# The official schema (OASIS SARIF 2.1.0 errata 01, oasis-tcs/sarif-spec). Public-repository data may
# not live in this repository, only in the steering repo's shared/ beside the checkout; the SARIF
# validation tests skip until it is there.
SARIF_SCHEMA = SHARED_DIR / "sarif-schema-2.1.0.json"
SNAPSHOT_FILES = {
    "console": "fixed.txt",
    "json": "fixed.json",
    "sarif": "fixed.sarif",
    "junit": "fixed.xml",
    "markdown": "fixed.md",
    "github": "fixed.github.txt",
    "html": "fixed.html",
}


@pytest.fixture(scope="module")
def fixed() -> Report:
    return fixed_report()


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_snapshot(fixed: Report, fmt: str) -> None:
    text = renderer(fmt)(fixed)
    path = SNAPSHOTS / SNAPSHOT_FILES[fmt]
    if os.environ.get("CORSCHECK_UPDATE_SNAPSHOTS"):
        # Under CI the switch would turn every snapshot test into a writer that passes.
        assert not os.environ.get("CI"), "CORSCHECK_UPDATE_SNAPSHOTS is refused under CI"
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}; run with CORSCHECK_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text("utf-8"), (
        f"{fmt} output changed; if intended, regenerate with CORSCHECK_UPDATE_SNAPSHOTS=1 "
        "and review git diff tests/snapshots"
    )


def test_every_format_has_a_snapshot() -> None:
    assert set(SNAPSHOT_FILES) == set(FORMATS)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_format_shows_a_secret(fixed: Report, fmt: str) -> None:
    text = renderer(fmt)(fixed)
    assert SECRET not in text and API_KEY not in text
    assert "****" in text  # the URL is shown, its token masked


def sarif_validator() -> Any:
    import jsonschema

    schema = json.loads(shared_document(SARIF_SCHEMA.name).read_text("utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def test_sarif_validates_against_the_official_schema(fixed: Report) -> None:
    sarif = json.loads(renderer("sarif")(fixed))
    errors = sorted(sarif_validator().iter_errors(sarif), key=str)
    assert errors == []


def test_sarif_locations(fixed: Report) -> None:
    (run,) = json.loads(renderer("sarif")(fixed))["runs"]
    locations = {r["ruleId"]: r["locations"][0] for r in run["results"]}
    declared = locations["untrusted-origin"]
    # Declared in a policy file: that file and the line of the target's entry.
    assert declared["physicalLocation"] == {
        "artifactLocation": {"uri": "corscheck.toml"},
        "region": {"startLine": 12},
    }
    assert declared["logicalLocations"][0]["fullyQualifiedName"].startswith(
        "https://api.example.com/v1/users?access_token=****"
    )
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert rules["untrusted-origin"]["properties"]["security-severity"] == "7.5"
    assert "Fix:" in rules["untrusted-origin"]["help"]["text"]
    notification, *warnings = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert "connection refused" in notification["message"]["text"]
    # The run's warnings (an expired or unused [[ignore]] among them) are notifications too.
    assert [w["message"]["text"] for w in warnings] == fixed.all_warnings()
    assert fixed.all_warnings() and all(w["level"] == "warning" for w in warnings)


def test_sarif_location_without_a_policy_file_is_the_url(fixed: Report) -> None:
    from dataclasses import replace

    report = replace(fixed, targets=tuple(replace(t, source=None) for t in fixed.targets))
    (run,) = json.loads(renderer("sarif")(report))["runs"]
    for result in run["results"]:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == "https://api.example.com/v1/users?access_token=****"
    assert sarif_validator().is_valid({"version": "2.1.0", "runs": [run]})


def test_junit_parses_with_a_junit_reader(fixed: Report, tmp_path: Path) -> None:
    from junitparser import Error, Failure, JUnitXml, Skipped

    path = tmp_path / "report.xml"
    path.write_text(renderer("junit")(fixed), encoding="utf-8")
    xml = JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in xml}
    assert list(suites) == [t.url for t in fixed.targets]
    users, down, status = suites.values()
    # A test case per rule; one failure per rule that has findings, carrying the evidence.
    assert (users.tests, users.failures, users.errors, users.skipped) == (len(CATALOG), 3, 0, 0)
    failed = {case.name: case for case in users if case.result}
    assert set(failed) == {"untrusted-origin", "allowed-method-refused", "missing-vary-origin"}
    (failure,) = failed["untrusted-origin"].result
    assert isinstance(failure, Failure) and failure.type == "high"
    assert "Access-Control-Allow-Credentials: true" in (failure.text or "")
    # Unreachable: one test case in error.
    assert (down.tests, down.errors) == (1, 1)
    (error,) = next(iter(down)).result
    assert isinstance(error, Error) and error.type == "connect"
    # No policy: the rules that compare with one are skipped, the others pass.
    needs_policy = [
        r for r in CATALOG if r.direction == "under-permissive" or r.id.endswith("-beyond-policy")
    ]
    assert (status.tests, status.failures, status.skipped) == (len(CATALOG), 0, len(needs_policy))
    assert all(isinstance(c.result[0], Skipped) for c in status if c.result)
    assert (xml.tests, xml.failures, xml.errors) == (2 * len(CATALOG) + 1, 3, 1)


def test_junit_drops_characters_xml_cannot_carry() -> None:
    from dataclasses import replace

    from corscheck.report.model import TargetErrorRecord

    report = fixed_report()
    target = replace(
        report.targets[1], errors=(TargetErrorRecord("protocol", "bad byte \x01\x1b here"),)
    )
    report = replace(report, targets=(target,))
    root = ET.fromstring(renderer("junit")(report))
    error = root.find(".//error")
    assert error is not None and error.get("message") == "bad byte \ufffd\ufffd here"


def test_markdown_renders_to_the_expected_tables(fixed: Report) -> None:
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(renderer("markdown")(fixed))
    tables = re.findall(r"<table>.*?</table>", html, re.S)
    assert len(tables) == 3  # counts, findings, errors

    def cells(table: str) -> list[list[str]]:
        rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
        return [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S) for row in rows]

    assert cells(tables[0]) == [
        ["critical", "high", "medium", "low", "errors"],
        ["0", "2", "1", "0", "1"],
    ]
    findings = cells(tables[1])
    assert findings[0] == ["severity", "rule", "target", "finding"]
    assert [row[1] for row in findings[1:]] == [
        "<code>allowed-method-refused</code>",
        "<code>untrusted-origin</code>",
        "<code>missing-vary-origin</code>",
    ]
    # The pipe in a message stays text; the URL is code; nothing from a server becomes markup.
    assert findings[1][3] == (
        "PUT from https://app.example.com fails its preflight | the policy allows it"
        "<br>➖ unprovable: the proof sends an unsafe PUT request, which the audit did not send; "
        "rerun with --send-unsafe to prove it"
    )
    assert findings[1][2] == "<code>https://api.example.com/v1/users?access_token=****</code>"
    assert cells(tables[2])[1] == [
        "<code>https://down.example.com/health</code>",
        "connect: connection refused (127.0.0.1:9)",
    ]
    # The regex in a fix keeps its backslashes and star.
    assert r"^https://([a-z0-9-]+\.)*example\.com$" in html


def test_markdown_escapes_hostile_text() -> None:
    from corscheck.report.markdown import code, text

    assert text("<img src=x> *a* [l](u) $x$ a|b") == (r"\<img src=x\> \*a\* \[l\](u) \$x\$ a\|b")
    assert code("a`b|c") == "``a`b\\|c``"


def test_markdown_stays_within_a_pull_request_comment() -> None:
    from dataclasses import replace

    report = fixed_report()
    many = tuple(
        replace(report.targets[0], url=f"https://api{n}.example.com/" + "x" * 300)
        for n in range(400)
    )
    big = replace(report, targets=many)
    text = renderer("markdown")(big)
    assert len(text) <= 65_536
    assert "more findings in the JSON report" in text


WORKFLOW_COMMAND = re.compile(
    r"^::(error|warning|notice)( (file=[^,:]+,line=\d+,)?title=[^,:]*)?::[^\r\n]*$"
)


def test_github_annotations_follow_the_workflow_command_syntax(fixed: Report) -> None:
    lines = renderer("github")(fixed).splitlines()
    warnings = fixed.all_warnings()
    assert warnings  # an expired or unused [[ignore]], say: an annotation of the run (issue 34)
    assert len(lines) == len(fixed.findings()) + fixed.error_count + len(warnings)
    assert lines[-len(warnings) :] == [
        f"::warning title=corscheck warning::{warning}" for warning in warnings
    ]
    assert all(WORKFLOW_COMMAND.match(line) for line in lines), lines
    # Declared in a policy file: annotated on its line. The newline in a message is escaped.
    assert lines[0].startswith(
        "::error file=corscheck.toml,line=12,title=allowed-method-refused%3A "
    )
    vary = next(line for line in lines if "missing-vary-origin" in line)
    assert vary.startswith("::warning ") and "Origin,%0Abut Vary" in vary
    error_line = lines[-len(warnings) - 1]  # the errors after the findings, the warnings last
    assert error_line.startswith("::error title=corscheck could not audit (connect)::")


def test_json_schema_is_versioned_with_the_report() -> None:
    schema = report_schema()
    assert str(schema["$id"]).endswith("/report/1")
    assert SCHEMA == "corscheck.report/1"
    properties = schema["properties"]
    assert isinstance(properties, dict) and properties["schema"] == {"const": SCHEMA}


@pytest.mark.parametrize("detail", ["compact", "full"])
def test_fixed_json_report_validates_and_round_trips(fixed: Report, detail: Detail) -> None:
    """Both forms follow the schema and read back to themselves; the compact one drops only the
    exchanges' header lines, so its findings and its probes' shapes and verdicts survive."""
    import jsonschema

    from corscheck.report import json as json_format
    from corscheck.report.codec import decode_report, encode_report

    data = json.loads(json_format.render(fixed, detail))
    jsonschema.validate(data, report_schema())
    assert data["targets"][0]["source"] == {"file": "corscheck.toml", "line": 12}
    assert encode_report(decode_report(data), detail) == data
    if detail == "compact":
        for target, written in zip(fixed.targets, data["targets"], strict=True):
            assert not written["probes"] and not written["exchanges"]
            assert ("checks" in written) == bool(target.probes)
        decoded = decode_report(data)
        for before, after in zip(fixed.targets, decoded.targets, strict=True):
            assert after.findings == before.findings
            shape = [(r.planned.probe.origin, r.planned.aspect, r.outcome) for r in after.probes]
            assert sorted(shape) == sorted(
                (r.planned.probe.origin, r.planned.aspect, r.outcome) for r in before.probes
            )
    assert renderer("json")(fixed) == json_format.render(fixed, "compact")


@pytest.mark.parametrize("detail", ["compact", "full"])
@pytest.mark.parametrize("indent", [True, False])
@pytest.mark.parametrize("targets", [0, 1, 3])
def test_streamed_json_is_exactly_the_whole_report_dumped(
    fixed: Report, indent: bool, targets: int, detail: Detail
) -> None:
    import io
    from dataclasses import replace

    from corscheck.report.json import JsonStream

    report = replace(fixed, targets=fixed.targets[:targets])
    out = io.StringIO()
    stream = JsonStream(out, indent=indent, detail=detail)
    stream.begin(replace(report, targets=()))
    for target in report.targets:
        stream.add(target)
    stream.end(report)
    layout: dict[str, Any] = {"indent": 2} if indent else {"separators": (",", ":")}
    expected = json.dumps(encode_report(report, detail), ensure_ascii=False, **layout)
    assert out.getvalue() == expected + "\n"


def test_html_is_self_contained_and_escaped(fixed: Report) -> None:
    html = renderer("html")(fixed)
    assert "<script" not in html and "http-equiv" not in html
    assert not re.search(r"(src|href)=['\"](?!#)", html), "only in-page links"
    assert "url(" not in html and "@import" not in html
    # The hostile header value is shown as text.
    assert "100% &lt;b&gt;&amp;&lt;/b&gt; | &quot;quoted&quot; &#x27;single&#x27;" in html
    assert html.count("class='finding ") == len(fixed.findings())
    assert "corscheck.toml:12" in html


@pytest.fixture(scope="module")
def report() -> Report:
    with serve_demo() as base:
        return audit(demo_config(base))


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
    assert sorted(sarif_validator().iter_errors(sarif), key=str) == []
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
        assert len(result["partialFingerprints"]["corscheckFinding/v2"]) == 32
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


@pytest.mark.chromium
def test_html_report_in_headless_chromium(report: Report, tmp_path: object) -> None:
    """Self-contained: it loads with no console error and no request beyond the file itself."""
    from pathlib import Path

    executable = chromium()
    playwright_api = playwright_sync_api()
    html = renderer("html")(report)
    assert "<script" not in html and "http-equiv" not in html
    page_path = Path(str(tmp_path)) / "report.html"
    page_path.write_text(html, encoding="utf-8")
    requests: list[str] = []
    problems: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
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
        # Printable: in print media every probe grid is laid out (nothing collapsed), and it prints.
        page.emulate_media(media="print")
        grids = page.locator("table.grid")
        grids_visible = [grids.nth(n).is_visible() for n in range(grids.count())]
        pdf = page.pdf(format="A4")
        browser.close()
    assert problems == []
    assert requests == [page_path.as_uri()]
    assert title == "corscheck report"
    assert findings_shown == len(report.findings())
    assert grids_visible == [True] * sum(1 for t in report.targets if t.probes)
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") > 1


def test_sarif_points_at_the_target_entry_in_the_policy_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from corscheck.cli import app

    monkeypatch.chdir(tmp_path)
    with serve_demo() as base:
        (tmp_path / "corscheck.toml").write_text(
            "[policy]\n"
            'origins = ["https://app.example.com"]\n'
            "credentials = true\n"
            "\n"
            "[[targets]]\n"
            f'url = "{base}/api/status"\n'
            "\n"
            "[[targets]]\n"
            f'url = "{base}/api/profile"\n',
            encoding="utf-8",
        )
        result = CliRunner().invoke(
            app, ["audit", "--depth", "quick", "-o", "out.sarif", "--fail-on", "never"]
        )
        assert result.exit_code == 0, result.output
        # A URL from the command line, judged by the file's [policy]: located at that table.
        extra = CliRunner().invoke(
            app, ["audit", f"{base}/api/orders", "--depth", "quick", "-o", "orders.sarif"]
        )
        assert extra.exit_code == 1, extra.output
    (run,) = json.loads((tmp_path / "out.sarif").read_text())["runs"]
    assert sarif_validator().is_valid({"version": "2.1.0", "runs": [run]})
    locations = {
        json.dumps(r["locations"][0]["physicalLocation"], sort_keys=True) for r in run["results"]
    }
    assert locations == {
        json.dumps(
            {"artifactLocation": {"uri": "corscheck.toml"}, "region": {"startLine": 9}},
            sort_keys=True,
        )
    }
    (run,) = json.loads((tmp_path / "orders.sarif").read_text())["runs"]
    assert {
        r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in run["results"]
    } == {1}
