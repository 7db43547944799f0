"""Sharding is deterministic and complete; merging the shards' reports equals the unsharded run."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.demo import demo_urls, serve_demo
from corscheck.report.model import TargetReport
from corscheck.shard import in_shard, parse_shard, shard
from tests.fixed_report import fixed_report

URLS = [f"https://api{n}.example.com/v1" for n in range(200)]


@given(n=st.integers(1, 12), seed=st.integers(0, 1000))
def test_shards_partition_the_targets_whatever_the_order(n: int, seed: int) -> None:
    shuffled = URLS[:]
    random.Random(seed).shuffle(shuffled)
    shares = [shard(shuffled, k, n) for k in range(1, n + 1)]
    assert sorted(url for share in shares for url in share) == sorted(URLS)
    for k in range(1, n + 1):
        assert set(shard(URLS, k, n)) == set(shares[k - 1])
        assert all(in_shard(url, k, n) for url in shares[k - 1])


@pytest.mark.parametrize("spec", ["0/2", "3/2", "a/b", "1", "1/0", ""])
def test_bad_shard_spec(spec: str) -> None:
    from corscheck.errors import UsageError

    with pytest.raises(UsageError):
        parse_shard(spec)


def normalized(report: dict[str, Any]) -> dict[str, Any]:
    """A report without its times (when it was made, the servers' Date headers), targets in URL
    order: what a merge must reproduce exactly."""
    report = json.loads(json.dumps(report))
    report.pop("generated_at")
    report["targets"] = sorted(report["targets"], key=lambda t: t["url"])
    for target in report["targets"]:
        for exchange in target["exchanges"]:
            for hop in exchange["hops"]:
                for line in hop["response"]["headers"]:
                    if line[0].lower() == "date":
                        line[1] = "(time)"
    return report


def test_merge_of_shards_equals_the_unsharded_run(tmp_path: Path) -> None:
    runner = CliRunner()
    with serve_demo() as base:
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(demo_urls(base)) + "\n")
        common = ["audit", "-i", str(listing), "--depth", "quick", "--fail-on", "never"]
        whole = tmp_path / "whole.json"
        assert runner.invoke(app, [*common, "-o", str(whole)]).exit_code == 0
        parts = []
        for k in (1, 2, 3):
            part = tmp_path / f"shard{k}.json"
            assert (
                runner.invoke(app, [*common, "--shard", f"{k}/3", "-o", str(part)]).exit_code == 0
            )
            parts.append(str(part))
    shares = [len(json.loads(Path(p).read_text())["targets"]) for p in parts]
    assert sum(shares) == len(demo_urls(base)) and max(shares) < len(demo_urls(base))
    merged = tmp_path / "merged.json"
    result = runner.invoke(app, ["merge", *parts, "-o", str(merged), "--format", "json"])
    assert result.exit_code == 0, result.output
    whole_report = json.loads(whole.read_text())
    merged_report = json.loads(merged.read_text())
    # A share may be empty (the split follows the URLs, ports included): the merge names it, and
    # that line is all it adds to the unsharded run's report.
    empty = [w for w in merged_report["warnings"] if "holds no targets" in w]
    assert len(empty) == shares.count(0)
    merged_report["warnings"] = [w for w in merged_report["warnings"] if w not in empty]
    assert normalized(merged_report) == normalized(whole_report)
    # And re-rendered in another format from the merged report.
    sarif = tmp_path / "merged.sarif"
    assert runner.invoke(app, ["merge", *parts, "-o", str(sarif)]).exit_code == 0
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert len(results) == sum(whole_report["summary"]["findings"].values())


def write_report(path: Path, **changes: object) -> str:
    from dataclasses import replace

    from corscheck.report import renderer

    path.write_text(renderer("json")(replace(fixed_report(), **changes)), encoding="utf-8")  # type: ignore[arg-type]
    return str(path)


def test_merge_refuses_a_target_twice(tmp_path: Path) -> None:
    a = write_report(tmp_path / "a.json")
    result = CliRunner().invoke(app, ["merge", a, a])
    assert result.exit_code == 2
    assert "is in both" in result.output


def test_merge_warns_when_the_shards_disagree(tmp_path: Path) -> None:
    report = fixed_report()
    a = write_report(tmp_path / "a.json", targets=report.targets[:1])
    b = write_report(tmp_path / "b.json", targets=report.targets[1:], depth="quick")
    merged = tmp_path / "merged.json"
    result = CliRunner().invoke(app, ["merge", a, b, "-o", str(merged), "--fail-on", "never"])
    assert result.exit_code == 3, result.output  # the unreachable target: not audited
    data = json.loads(merged.read_text())
    assert [t["url"] for t in data["targets"]] == [t.url for t in report.targets]
    assert any("differ in depth (standard, quick)" in w for w in data["warnings"])
    assert data["targets"][0]["source"] == {"file": "corscheck.toml", "line": 12}


def test_merge_in_github_actions_annotates_and_appends_the_step_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = write_report(tmp_path / "a.json")
    summary = tmp_path / "summary.md"
    summary.write_text("previous step\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = CliRunner().invoke(app, ["merge", a])
    assert result.exit_code == 1
    annotations = [line for line in result.output.splitlines() if line.startswith("::")]
    # 3 findings and 1 error, then the report's one warning (an annotation of the run).
    assert len(annotations) == 5
    assert annotations[-1].startswith("::warning title=corscheck warning::")
    assert annotations[0].startswith("::error file=corscheck.toml,line=12,")
    text = summary.read_text()
    assert text.startswith("previous step\n## corscheck: ❌ failed")  # appended, not replaced


def test_merge_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    result = CliRunner().invoke(app, ["merge", str(other)])
    assert result.exit_code == 2
    assert "not a corscheck.report/1 report" in result.output


def _target_report(url: str) -> TargetReport:
    return TargetReport(url, None, requests_sent=1)


def test_merge_notices_a_missing_share(tmp_path: Path) -> None:
    """Issue 34: a CI job that failed before uploading its share left targets unaudited, and the
    merge passed. The shards' own K/N say so: a warning, and a partial report (never exit 0)."""
    one = write_report(
        tmp_path / "1.json", shard=(1, 3), targets=(_target_report("https://a.example/"),)
    )
    three = write_report(
        tmp_path / "3.json", shard=(3, 3), targets=(_target_report("https://c.example/"),)
    )
    result = CliRunner().invoke(app, ["merge", one, three, "--format", "json"])
    merged = json.loads(result.stdout)
    assert any("share 2/3 of the sharded run is missing" in w for w in merged["warnings"])
    assert merged["summary"]["partial"] is True and result.exit_code == 3


def test_merge_of_every_share_is_whole_and_an_empty_share_is_named(tmp_path: Path) -> None:
    one = write_report(
        tmp_path / "1.json", shard=(1, 2), targets=(_target_report("https://a.example/"),)
    )
    two = write_report(tmp_path / "2.json", shard=(2, 2), targets=())
    result = CliRunner().invoke(app, ["merge", one, two, "--format", "json"])
    merged = json.loads(result.stdout)
    assert not any("missing" in w for w in merged["warnings"])
    assert any("2.json (share 2/2) holds no targets" in w for w in merged["warnings"])
    assert not merged["summary"].get("partial") and result.exit_code == 0
    assert "shard" not in merged["settings"]  # the merged report is the whole run


def test_a_shards_report_says_its_share(tmp_path: Path) -> None:
    path = write_report(tmp_path / "s.json", shard=(2, 4))
    assert json.loads(Path(path).read_text())["settings"]["shard"] == "2/4"
    from corscheck.merge import merge_reports

    assert merge_reports([path]).shard is None
