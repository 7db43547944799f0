"""Sharding is deterministic and complete; merging the shards' reports equals the unsharded run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from corscheck.cli import app
from corscheck.demo import demo_urls, serve_demo
from corscheck.merge import in_shard, parse_shard, shard

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


def normalized(report: dict[str, object]) -> dict[str, object]:
    report = dict(report)
    report.pop("generated_at")
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
    merged = tmp_path / "merged.json"
    result = runner.invoke(app, ["merge", *parts, "-o", str(merged), "--format", "json"])
    assert result.exit_code == 0, result.output
    whole_report = json.loads(whole.read_text())
    merged_report = json.loads(merged.read_text())
    by_url = {t["url"]: t for t in merged_report["targets"]}
    assert sorted(by_url) == sorted(t["url"] for t in whole_report["targets"])
    for target in whole_report["targets"]:
        mine = by_url[target["url"]]
        assert [f["rule"] for f in mine["findings"]] == [f["rule"] for f in target["findings"]]
        assert len(mine["probes"]) == len(target["probes"])
    assert merged_report["summary"]["findings"] == whole_report["summary"]["findings"]


def test_merge_rejects_other_files(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    result = CliRunner().invoke(app, ["merge", str(other)])
    assert result.exit_code == 2
    assert "not a corscheck.report/1 report" in result.output
