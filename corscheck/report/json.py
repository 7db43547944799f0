"""The JSON report: the stable, versioned contract (`corscheck.report/1`).

Written target by target as the audit finishes them (`JsonStream`), so a run of ten thousand URLs never
holds its whole report: the run's settings first, then each target, then the summary.
"""

from __future__ import annotations

import io
import json
from typing import Any, TextIO

from corscheck.report.codec import (
    Detail,
    head_to_dict,
    summary_to_dict,
    tail_to_dict,
    target_to_dict,
)
from corscheck.report.model import Report, TargetReport

_INDENTED_UP_TO = 20  # targets; larger reports are written compact (json's C encoder, ~10x faster)


def render(report: Report, detail: Detail = "compact") -> str:
    buffer = io.StringIO()
    stream = JsonStream(buffer, indent=indented(len(report.targets)), detail=detail)
    stream.begin(report)
    for target in report.targets:
        stream.add(target)
    stream.end(report)
    return buffer.getvalue()


def indented(target_count: int) -> bool:
    """Whether a report of this many targets is written indented for people, or compact."""
    return target_count <= _INDENTED_UP_TO


class JsonStream:
    """A `ReportSink` that writes the JSON report to `out` as it grows."""

    def __init__(self, out: TextIO, *, indent: bool, detail: Detail = "compact") -> None:
        self._out = out
        self._indent = indent
        self._detail = detail
        self._targets = 0

    @property
    def wants_probes(self) -> bool:
        """Whether it writes the probes themselves (`full`), not only their compact form."""
        return self._detail == "full"

    def begin(self, head: Report) -> None:
        fields = self._dumps(head_to_dict(head))[:-1].rstrip()  # without the closing brace
        self._out.write(fields + (',\n  "targets": [' if self._indent else ',"targets":['))

    def add(self, target: TargetReport) -> None:
        text = self._dumps(target_to_dict(target, self._detail))
        separator = "," if self._targets else ""
        if self._indent:
            text = "\n    " + text.replace("\n", "\n    ")
        self._out.write(separator + text)
        self._targets += 1

    def end(self, report: Report) -> None:
        tail = {**tail_to_dict(report), "summary": summary_to_dict(report)}
        fields = self._dumps(tail).strip()[1:]  # without the opening brace
        if self._indent:
            closing = "\n  ]" if self._targets else "]"
            self._out.write(closing + "," + fields + "\n")
        else:
            self._out.write("]," + fields + "\n")

    def _dumps(self, value: Any) -> str:
        if self._indent:
            return json.dumps(value, indent=2, ensure_ascii=False)
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
