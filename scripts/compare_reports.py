"""Compares corscheck JSON reports before and after a change that must not change a verdict.

    python scripts/compare_reports.py BEFORE AFTER

BEFORE and AFTER are two JSON reports, or two folders of them matched by file name (what
CORSCHECK_DUMP_REPORTS=DIR makes of a test run: `CORSCHECK_DUMP_REPORTS=/tmp/before python -m pytest`
on the old commit, /tmp/after on the new one). For every target it compares what a user acts on:
passed or failed, the error kinds, and each finding's rule, severity, evidence origin and exposure
lines; loopback ports and cache-busting tokens, which differ from run to run, are left out. Requests
are counted, never compared: fewer is the point. Exits 1 when anything differs, listing it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

_PORT = re.compile(r"(127\.0\.0\.1|localhost|\[::1\]|testserver)(:\d+)")
_TOKEN = re.compile(r"corscheck-cache=[0-9a-f-]+|prove-[0-9a-f]+")


def _plain(text: str) -> str:
    return _TOKEN.sub("(token)", _PORT.sub(r"\1:(port)", text))


def verdicts(report: dict[str, Any]) -> dict[str, Any]:
    """Per target (in order, its URL without its port): what must not change."""
    targets: dict[str, Any] = {}
    for number, target in enumerate(report.get("targets", [])):
        findings = Counter(
            (
                finding["rule"],
                finding["severity"],
                _plain(finding["evidence"]["origin"]),
                tuple(sorted(_plain(e["summary"]) for e in finding.get("exposure", []))),
            )
            for finding in target["findings"]
        )
        targets[f"{number}:{_plain(target['url'])}"] = {
            "passed": target["passed"],
            "errors": sorted(e["kind"] for e in target["errors"]),
            "findings": findings,
        }
    return targets


def requests(report: dict[str, Any]) -> int:
    return sum(int(t.get("requests", 0)) for t in report.get("targets", []))


def compare(before: dict[str, Any], after: dict[str, Any], name: str) -> list[str]:
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


def _pairs(before: Path, after: Path) -> list[tuple[str, Path | None, Path | None]]:
    if before.is_file() and after.is_file():
        return [(after.name, before, after)]
    names = sorted({p.name for p in before.glob("*.json")} | {p.name for p in after.glob("*.json")})
    return [
        (
            n,
            before / n if (before / n).exists() else None,
            after / n if (after / n).exists() else None,
        )
        for n in names
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    differences: list[str] = []
    sent = [0, 0]
    pairs = _pairs(args.before, args.after)
    for name, old, new in pairs:
        if old is None or new is None:
            differences.append(f"{name}: only {'after' if old is None else 'before'}")
            continue
        before, after = json.loads(old.read_text("utf-8")), json.loads(new.read_text("utf-8"))
        sent[0] += requests(before)
        sent[1] += requests(after)
        differences += compare(before, after, name)
    for line in differences:
        print(line)
    ratio = f" ({sent[1] / sent[0]:.2f} of before)" if sent[0] else ""
    print(
        f"{len(pairs)} reports compared: {len(differences)} differences; requests "
        f"{sent[0]:,} before, {sent[1]:,} after{ratio}"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
