"""The JSON report: the stable, versioned contract (`corscheck.report/1`)."""

from __future__ import annotations

import json

from corscheck.report.model import Report


def render(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
