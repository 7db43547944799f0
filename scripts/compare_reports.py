"""Compares corscheck JSON reports before and after a change that must not change a verdict.

    python scripts/compare_reports.py BEFORE AFTER

BEFORE and AFTER are two JSON reports, or two folders of them matched by file name (what
CORSCHECK_DUMP_REPORTS=DIR makes of a test run: `CORSCHECK_DUMP_REPORTS=/tmp/before python -m pytest`
on the old commit, /tmp/after on the new one). For every target it compares what a user acts on:
passed or failed, the error kinds, and each finding's rule, severity, evidence origin, evidence
credentials mode and whether a Cookie went with it, and exposure lines. What differs from run to run
is left out: the servers' ephemeral ports (five digits), cache-busting tokens, and which of a test's
reports a target landed in (a test's reports are pooled: sharding by URL splits the targets by their
ports). Requests are counted, never compared: fewer is the point. Exits 1 when anything differs,
listing it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_PORT = re.compile(r":\d{5}\b")
_TOKEN = re.compile(r"corscheck-cache=[0-9a-f-]+|prove-[0-9a-f]+")


def _plain(text: str) -> str:
    return _TOKEN.sub("(token)", _PORT.sub(":(port)", text))


def verdicts(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Per target (its URL without its port; repeats numbered): what must not change."""
    targets: dict[str, Any] = {}
    every = [t for report in reports for t in report.get("targets", [])]
    for target in sorted(every, key=lambda t: _plain(t["url"])):
        findings = Counter(
            (
                finding["rule"],
                finding["severity"],
                _plain(finding["evidence"]["origin"]),
                finding["evidence"].get("credentials"),
                any(n.lower() == "cookie" for n, _ in finding["evidence"].get("sent_lines", [])),
                tuple(sorted(_plain(e["summary"]) for e in finding.get("exposure", []))),
            )
            for finding in target["findings"]
        )
        url = _plain(target["url"])
        seen = sum(1 for key in targets if key.split(" #")[0] == url)
        targets[url + (f" #{seen + 1}" if seen else "")] = {
            "passed": target["passed"],
            "errors": sorted(e["kind"] for e in target["errors"]),
            "findings": findings,
        }
    return targets


def requests(reports: list[dict[str, Any]]) -> int:
    return sum(int(t.get("requests", 0)) for r in reports for t in r.get("targets", []))


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]], name: str) -> list[str]:
    """The differences between two reports, one line each."""
    old, new = verdicts(before), verdicts(after)
    lines = []
    for url in sorted(set(old) | set(new)):
        if url not in new or url not in old:
            lines.append(f"{name}: {url}: {'gone' if url not in new else 'new'} target")
            continue
        for key in ("passed", "errors"):
            if old[url][key] != new[url][key]:
                lines.append(f"{name}: {url}: {key} {old[url][key]} -> {new[url][key]}")
        lost = old[url]["findings"] - new[url]["findings"]
        gained = new[url]["findings"] - old[url]["findings"]
        lines += [f"{name}: {url}: finding lost {f}" for f in sorted(lost)]
        lines += [f"{name}: {url}: finding gained {f}" for f in sorted(gained)]
    return lines


def _groups(folder: Path) -> dict[str, list[Path]]:
    """A folder's reports by test: `TEST.N.json` files pooled under TEST; a file is its own group."""
    if folder.is_file():
        return {folder.name: [folder]}
    groups: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.json")):
        groups.setdefault(re.sub(r"\.\d+\.json$", "", path.name), []).append(path)
    return groups


def _read(paths: list[Path]) -> list[dict[str, Any]]:
    return [json.loads(path.read_text("utf-8")) for path in paths]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    differences: list[str] = []
    sent = [0, 0]
    old, new = _groups(args.before), _groups(args.after)
    if args.before.is_file() and args.after.is_file():
        old, new = {"report": [args.before]}, {"report": [args.after]}
    for name in sorted(set(old) | set(new)):
        if name not in old or name not in new:
            differences.append(f"{name}: only {'after' if name not in old else 'before'}")
            continue
        before, after = _read(old[name]), _read(new[name])
        sent[0] += requests(before)
        sent[1] += requests(after)
        differences += compare(before, after, name)
    for line in differences:
        print(line)
    ratio = f" ({sent[1] / sent[0]:.2f} of before)" if sent[0] else ""
    print(
        f"{len(set(old) | set(new))} tests' reports compared: {len(differences)} differences; "
        "requests "
        f"{sent[0]:,} before, {sent[1]:,} after{ratio}"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
