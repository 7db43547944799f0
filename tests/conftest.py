"""Shared fixtures. Keep this small: each fixture here is used by several test modules."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.cors_server import CorsServer


@pytest.fixture
def cors_server() -> Iterator[CorsServer]:
    """A scriptable raw HTTP server on 127.0.0.1 (tests/cors_server.py), always shut down."""
    with CorsServer() as server:
        yield server


@pytest.fixture(autouse=True)
def every_json_report_follows_the_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test does, each JSON report corscheck renders must validate against the JSON
    Schema shipped in the package (issue 6: the schema is the contract)."""
    import json
    from importlib import resources

    import jsonschema

    from corscheck.report import json as json_format

    schema = json.loads(
        resources.files("corscheck").joinpath("data/report.schema.json").read_text("utf-8")
    )
    validator = jsonschema.Draft202012Validator(schema)
    original_begin, original_end = json_format.JsonStream.begin, json_format.JsonStream.end
    written: dict[int, io.StringIO] = {}

    # Every JSON report goes through JsonStream (the whole-report render too): copy what each
    # stream writes, and validate the copy when the stream ends.
    def begin(self, head):  # type: ignore[no-untyped-def]
        copy = written[id(self)] = io.StringIO()
        out = self._out
        self._out = _Tee(out, copy)
        original_begin(self, head)

    def end(self, report):  # type: ignore[no-untyped-def]
        original_end(self, report)
        validator.validate(json.loads(written.pop(id(self)).getvalue()))

    monkeypatch.setattr(json_format.JsonStream, "begin", begin)
    monkeypatch.setattr(json_format.JsonStream, "end", end)


class _Tee:
    def __init__(self, *outs: Any) -> None:
        self._outs = outs

    def write(self, text: str) -> int:
        for out in self._outs:
            out.write(text)
        return len(text)
