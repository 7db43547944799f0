"""scripts/compare_reports.py: what must not change between two runs is compared, and only that."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "compare_reports.py"
_spec = importlib.util.spec_from_file_location("compare_reports", SCRIPT)
assert _spec is not None and _spec.loader is not None
compare_reports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(compare_reports)


def report(
    port: int, severity: str = "critical", requests: int = 10, **target: Any
) -> dict[str, Any]:
    finding = {
        "rule": "any-origin-with-credentials",
        "severity": severity,
        "evidence": {"origin": f"http://127.0.0.1.corscheck-attacker.example:{port}"},
        "exposure": [{"summary": f"1 origin read (e.g. http://127.0.0.1:{port}, status 200)"}],
    }
    return {
        "targets": [
            {
                "url": f"http://127.0.0.1:{port}/api",
                "passed": False,
                "requests": requests,
                "errors": [],
                "findings": [finding],
                **target,
            }
        ]
    }


def test_another_port_and_fewer_requests_are_no_difference() -> None:
    assert compare_reports.compare([report(40001)], [report(51234, requests=4)], "t") == []


def test_a_changed_severity_is_a_difference() -> None:
    differences = compare_reports.compare([report(40001)], [report(40001, "high")], "t")
    assert len(differences) == 2 and "lost" in differences[0] and "gained" in differences[1]


def test_a_changed_pass_or_error_is_a_difference() -> None:
    assert compare_reports.compare([report(40001)], [report(40001, passed=True)], "t")
    errors = [{"kind": "timeout", "message": "x"}]
    assert compare_reports.compare([report(40001)], [report(40001, errors=errors)], "t")


def test_a_tests_reports_are_pooled(tmp_path: Path) -> None:
    """Sharded runs split the targets by URL, ports included: which report holds one may change."""
    before, after = tmp_path / "before", tmp_path / "after"
    for folder, ports in ((before, (40001, 40002)), (after, (40002, 40001))):
        folder.mkdir()
        for number, port in enumerate(ports, 1):
            body = report(port)
            body["targets"][0]["url"] = (
                f"http://127.0.0.1:{port}/api/{number if folder is before else 3 - number}"
            )
            (folder / f"test_x.{number}.json").write_text(json.dumps(body))
    groups = compare_reports._groups(before)
    assert list(groups) == ["test_x"]
    old = compare_reports._read(groups["test_x"])
    new = compare_reports._read(compare_reports._groups(after)["test_x"])
    assert compare_reports.compare(old, new, "test_x") == []
