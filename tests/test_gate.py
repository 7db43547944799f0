"""CI gates: [[ignore]] and --ignore suppressions with reasons and expiry, stable fingerprints, and
--baseline. Unit tests of corscheck/gate.py and the policy file, then the command line against an
in-process FastAPI app that trusts a development origin on purpose."""

from __future__ import annotations

import json
import sys
import textwrap
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corscheck import rules
from corscheck.cli import app
from corscheck.errors import PolicyError
from corscheck.evaluate import Finding, fingerprint
from corscheck.gate import Gate
from corscheck.gate.suppression import Ignore
from corscheck.inputs import load_policy_file
from corscheck.report.codec import decode_report, encode_report
from corscheck.report.model import Report, TargetReport

from .test_fingerprints import finding
from .test_formats import report_schema, sarif_validator

TODAY = date(2026, 6, 1)


# --- the gate ----------------------------------------------------------------------------------------


def target(*findings: Finding, url: str = "https://api.example.com/v1/users") -> TargetReport:
    return TargetReport(url, None, findings=findings, requests_sent=10)


def run(gate: Gate, *targets: TargetReport) -> Report:
    head = Report("0", "2026-06-01T00:00:00+00:00", "standard", "medium")
    return gate.close(replace(head, targets=tuple(gate.mark(t) for t in targets)))


@pytest.mark.parametrize(
    ("ignore", "suppressed"),
    [
        (Ignore("development-origin", "why", "f:1"), True),
        (Ignore("null-origin", "why", "f:1"), False),
        (Ignore("development-origin", "why", "f:1", target="https://api.example.com/*"), True),
        (Ignore("development-origin", "why", "f:1", target="https://other.example.com/*"), False),
        (Ignore("development-origin", "why", "f:1", origin="http://localhost:3000"), True),
        (Ignore("development-origin", "why", "f:1", origin="http://localhost:5173"), False),
        (Ignore("development-origin", "why", "f:1", expires=date(2026, 6, 1)), True),
        (Ignore("development-origin", "why", "f:1", expires=date(2026, 5, 31)), False),
    ],
    ids=[
        "rule",
        "other-rule",
        "target-glob",
        "other-target",
        "origin",
        "other-origin",
        "expires-today",
        "expired",
    ],
)
def test_an_ignore_suppresses_what_it_matches(ignore: Ignore, suppressed: bool) -> None:
    report = run(Gate([ignore], today=TODAY), target(finding()))
    (marked,) = report.targets[0].findings
    assert (marked.suppressed is not None) is suppressed
    assert report.reaches("medium") is not suppressed
    if suppressed:
        assert marked.suppressed is not None and marked.suppressed.source == "f:1"
        assert report.counts()["medium"] == 0 and len(report.suppressed()) == 1


def test_expired_and_unused_ignores_are_warnings() -> None:
    expired = Ignore("development-origin", "old", "corscheck.toml:3", expires=date(2020, 1, 1))
    unused = Ignore("null-origin", "never seen", "corscheck.toml:9")
    gate = Gate([expired, unused], today=TODAY)
    assert gate.warnings() == [
        "ignore of development-origin (corscheck.toml:3) expired on 2020-01-01; "
        "its findings count again"
    ]
    report = run(gate, target(finding()))
    assert [(i.state, i.matched) for i in report.ignores] == [("expired", 1), ("unused", 0)]
    # The expired one is among the run's warnings from its start (audit.py puts gate.warnings()
    # there); the unused one is known at the end.
    assert report.all_warnings() == [
        "ignore of null-origin (corscheck.toml:9) matched no finding: remove it"
    ]
    assert report.ignores[0].warning() == (
        "ignore of development-origin (corscheck.toml:3) expired on 2020-01-01: "
        "its 1 finding count again"
    )


def test_baseline_marks_new_unchanged_and_fixed() -> None:
    from corscheck.gate.suppression import Baseline

    kept, gone = finding(), finding(rules.NULL_ORIGIN, origin="null", origin_class="null")
    elsewhere = finding(target="https://api.example.com/not-audited")
    baseline = Baseline("old.json", tuple((fingerprint(f), f) for f in (kept, gone, elsewhere)))
    new = finding(rules.INSECURE_ORIGIN, origin="http://app.example.com", origin_class="x")
    report = run(Gate(baseline=baseline, today=TODAY), target(kept, new))
    assert [f.baseline for f in report.targets[0].findings] == ["unchanged", "new"]
    assert report.baseline is not None and report.baseline.fixed == (gone,)
    assert report.baseline_counts() == {"new": 1, "unchanged": 1, "fixed": 1}
    # Only the new finding counts: insecure-origin is high, development-origin medium.
    assert report.reaches("high") and not report.reaches("critical")
    only_old = run(Gate(baseline=baseline, today=TODAY), target(kept))
    assert not only_old.reaches("low")


# --- the policy file ---------------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corscheck.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_policy_file_ignores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write(
        tmp_path,
        """\
        [policy]
        origins = ["https://app.example.com"]

        [[ignore]]
        rule = "development-origin"
        target = "https://api.example.com/*"
        origin = "HTTP://localhost:3000"
        reason = "the local front-end talks to the staging API"
        expires = 2027-03-31

        [[ignore]]
        rule = "missing-vary-origin"
        reason = "a CDN adds Vary"
        expires = "2027-01-01"
        """,
    )
    first, second = load_policy_file(path).ignores
    assert first == Ignore(
        "development-origin",
        "the local front-end talks to the staging API",
        "corscheck.toml:4",
        target="https://api.example.com/*",
        origin="http://localhost:3000",
        expires=date(2027, 3, 31),
    )
    assert (second.source, second.expires) == ("corscheck.toml:11", date(2027, 1, 1))


@pytest.mark.parametrize(
    ("entry", "line", "message"),
    [
        ('rule = "development-origin"', 3, "needs reason"),
        ('rule = "no-such-rule"\nreason = "x"', 4, "no rule 'no-such-rule'"),
        ('reason = "x"', 3, "needs rule"),
        ('rule = "development-origin"\nreason = "  "', 5, "needs reason"),
        (
            'rule = "development-origin"\nreason = "x"\nexpires = "soon"',
            6,
            "expires must be a date",
        ),
        ('rule = "development-origin"\nreason = "x"\norigin = "localhost"', 6, "not an origin"),
        ('rule = "development-origin"\nreason = "x"\nwhy = "y"', 6, "unknown key 'why'"),
    ],
    ids=["no-reason", "unknown-rule", "no-rule", "blank-reason", "bad-date", "bad-origin", "key"],
)
def test_policy_file_ignore_errors_name_the_line(
    tmp_path: Path, entry: str, line: int, message: str
) -> None:
    # The [[ignore]] header is line 3, its keys from line 4; an entry without the key is reported
    # at its header.
    text = '[policy]\norigins = ["https://app.example.com"]\n[[ignore]]\n' + entry + "\n"
    path = tmp_path / "corscheck.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as raised:
        load_policy_file(path)
    assert message in str(raised.value)
    assert raised.value.line == line


# --- the command line --------------------------------------------------------------------------------

DEV_APP = """
    from fastapi import FastAPI
    from fastapi.middleware.cors import CORSMiddleware
    app = FastAPI()
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["https://app.example.com", "http://localhost:3000"],
        allow_credentials=True,
    )
    @app.get("/api/items")
    def items():
        return {"items": []}
"""
POLICY = """\
[policy]
origins = ["https://app.example.com"]
credentials = true
"""
IGNORE = """
[[ignore]]
rule = "development-origin"
origin = "http://localhost:3000"
reason = "the local front-end talks to the staging API"
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "gate_dev_app.py").write_text(textwrap.dedent(DEV_APP), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("gate_dev_app", None)


def audit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["audit", "--app", "gate_dev_app:app", "/api/items", *args])
    return result.exit_code, result.output


def test_without_an_ignore_the_dev_origin_fails(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY, encoding="utf-8")
    code, output = audit()
    assert code == 1, output
    assert "[development-origin]" in output


def test_an_ignored_dev_origin_passes_and_stays_in_every_report(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY + IGNORE, encoding="utf-8")
    code, output = audit("-o", "r.json", "-o", "r.sarif", "-o", "r.xml", "-o", "r.md")
    assert code == 0, output
    assert "Suppressed (1)" in output
    assert "the local front-end talks to the staging API (corscheck.toml:5)" in " ".join(
        output.split()
    )
    report = json.loads((project / "r.json").read_text("utf-8"))
    (found,) = report["targets"][0]["findings"]
    assert found["rule"] == "development-origin"
    assert found["suppressed"] == {
        "reason": "the local front-end talks to the staging API",
        "expires": None,
        "source": "corscheck.toml:5",
    }
    assert report["summary"]["suppressed"] == 1 and report["summary"]["passed"] is True
    assert report["ignores"][0]["state"] == "active" and report["ignores"][0]["matched"] == 1
    sarif = json.loads((project / "r.sarif").read_text("utf-8"))
    assert sorted(sarif_validator().iter_errors(sarif), key=str) == []
    (result,) = sarif["runs"][0]["results"]
    (suppression,) = result["suppressions"]
    assert suppression["kind"] == "external" and suppression["status"] == "accepted"
    assert suppression["justification"] == "the local front-end talks to the staging API"
    case = ET.parse(project / "r.xml").find(".//testcase[@name='development-origin']")
    assert case is not None and case.find("skipped") is not None and case.find("failure") is None
    markdown = (project / "r.md").read_text("utf-8")
    assert "Suppressed (1)" in markdown and "passed" in markdown


def test_the_html_report_has_its_suppressed_section(project: Path) -> None:
    """As the README says (issue 34: the HTML report had none)."""
    (project / "corscheck.toml").write_text(POLICY + IGNORE, encoding="utf-8")
    code, output = audit("-o", "r.html")
    assert code == 0, output
    html = (project / "r.html").read_text("utf-8")
    assert "<h2 id='suppressed'>Suppressed (1)</h2>" in html
    assert "the local front-end talks to the staging API (corscheck.toml:5)" in html


def test_an_expired_ignore_fails_and_says_so(project: Path) -> None:
    expired = IGNORE + 'expires = "2020-01-31"\n'
    (project / "corscheck.toml").write_text(POLICY + expired, encoding="utf-8")
    code, output = audit("-o", "r.json", "-o", "r.sarif", "-f", "github")
    assert code == 1, output
    assert "ignore of development-origin (corscheck.toml:5) expired on 2020-01-31" in output
    # In every report that has room for a warning (issue 34: github and SARIF had none).
    assert "::warning title=corscheck warning::ignore of development-origin" in output
    sarif = json.loads((project / "r.sarif").read_text("utf-8"))
    notes = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("expired on 2020-01-31" in n["message"]["text"] for n in notes)
    report = json.loads((project / "r.json").read_text("utf-8"))
    assert report["targets"][0]["findings"][0]["suppressed"] is None
    assert report["ignores"][0]["state"] == "expired"
    assert any("expired on 2020-01-31" in w for w in report["warnings"])


def test_an_unused_ignore_is_a_warning(project: Path) -> None:
    unused = '\n[[ignore]]\nrule = "null-origin"\nreason = "embedded in a sandboxed iframe"\n'
    (project / "corscheck.toml").write_text(POLICY + IGNORE + unused, encoding="utf-8")
    code, output = audit()
    assert code == 0, output
    assert "ignore of null-origin (corscheck.toml:10) matched no finding: remove it" in output


def test_ignore_on_the_command_line(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY, encoding="utf-8")
    code, output = audit("--ignore", "development-origin", "-f", "json")
    assert code == 0, output
    found = json.loads(output)["targets"][0]["findings"][0]
    assert found["suppressed"]["source"] == "--ignore"
    code, output = audit("--ignore", "no-such-rule")
    assert code == 2 and "no rule 'no-such-rule'" in output


def test_same_audit_twice_same_fingerprints_and_baseline_unchanged(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY, encoding="utf-8")
    assert audit("-o", "first.json")[0] == 1
    assert audit("-o", "second.json")[0] == 1
    first = json.loads((project / "first.json").read_text("utf-8"))
    second = json.loads((project / "second.json").read_text("utf-8"))

    def prints(report: dict[str, object]) -> list[str]:
        return [f["fingerprint"] for t in report["targets"] for f in t["findings"]]  # type: ignore[attr-defined]

    assert prints(first) == prints(second) and len(prints(first)) == 1
    code, output = audit("--baseline", "first.json", "-o", "third.json", "-o", "third.sarif")
    assert code == 0, output
    assert "Baseline: 0 new · 1 unchanged · 0 fixed" in output
    third = json.loads((project / "third.json").read_text("utf-8"))
    assert [f["baseline"] for t in third["targets"] for f in t["findings"]] == ["unchanged"]
    assert third["summary"]["baseline"] == {"new": 0, "unchanged": 1, "fixed": 0}
    sarif = json.loads((project / "third.sarif").read_text("utf-8"))
    assert sorted(sarif_validator().iter_errors(sarif), key=str) == []
    assert [r["baselineState"] for r in sarif["runs"][0]["results"]] == ["unchanged"]
    assert [r["partialFingerprints"] for r in sarif["runs"][0]["results"]] == [
        {"corscheckFinding/v2": prints(first)[0]}
    ]


def test_baseline_fixed_and_new(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY, encoding="utf-8")
    assert audit("-o", "first.json")[0] == 1
    data = json.loads((project / "first.json").read_text("utf-8"))
    (only,) = data["targets"][0]["findings"]
    # The baseline had a null-origin finding that is gone, and no development-origin finding.
    data["targets"][0]["findings"] = [
        {**only, "rule": "null-origin", "fingerprint": "0" * 32, "severity": "high"}
    ]
    (project / "old.json").write_text(json.dumps(data), encoding="utf-8")
    code, output = audit("--baseline", "old.json", "-o", "r.json", "-o", "r.sarif")
    assert code == 1, output
    assert "Baseline: 1 new · 0 unchanged · 1 fixed" in output
    report = json.loads((project / "r.json").read_text("utf-8"))
    assert [f["rule"] for f in report["baseline"]["fixed"]] == ["null-origin"]
    sarif = json.loads((project / "r.sarif").read_text("utf-8"))
    states = sorted((r["ruleId"], r["baselineState"]) for r in sarif["runs"][0]["results"])
    assert states == [("development-origin", "new"), ("null-origin", "absent")]


def test_bad_baseline_is_a_usage_error(project: Path) -> None:
    (project / "corscheck.toml").write_text(POLICY, encoding="utf-8")
    (project / "old.json").write_text("{}", encoding="utf-8")
    code, output = audit("--baseline", "old.json")
    assert code == 2 and "is not a corscheck.report/1 report" in output
    code, output = audit("--baseline", "missing.json")
    assert code == 2 and "cannot read the baseline" in output


def test_suppressions_and_baseline_round_trip_through_merge(project: Path) -> None:
    import jsonschema

    (project / "corscheck.toml").write_text(POLICY + IGNORE, encoding="utf-8")
    audit("-o", "first.json")
    assert audit("--baseline", "first.json", "-o", "r.json")[0] == 0
    data = json.loads((project / "r.json").read_text("utf-8"))
    jsonschema.validate(data, report_schema())
    again = encode_report(decode_report(data), "compact")
    for key in ("targets", "ignores", "baseline", "summary"):
        assert again[key] == data[key], key
    result = CliRunner().invoke(app, ["merge", "r.json", "-f", "json"])
    assert result.exit_code == 0, result.output
    merged = json.loads(result.stdout)
    assert merged["targets"][0]["findings"][0]["suppressed"]["source"] == "corscheck.toml:5"
    assert merged["ignores"] == data["ignores"]
