"""The JSON report: the stable, versioned contract (`corscheck.report/1`)."""

from __future__ import annotations

import json

from corscheck.report.model import Report

_INDENTED_UP_TO = 20  # targets; larger reports are written compact (json's C encoder, ~10x faster)


def render(report: Report) -> str:
    if len(report.targets) <= _INDENTED_UP_TO:
        return json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n"
    return json.dumps(report.to_dict(), separators=(",", ":"), ensure_ascii=False) + "\n"
