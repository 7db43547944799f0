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


class SilentServer:
    """A loopback port that accepts connections and never answers: a run against it is surely
    under way, and holding its connections, once `connected` is set."""

    def __init__(self) -> None:
        import socket
        import threading

        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self.connected = threading.Event()
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._listener.settimeout(30)
        try:
            while len(self._held) < 64:  # bounded, as every loop here
                self._held.append(self._listener.accept()[0])
                self.connected.set()
        except OSError:
            pass

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


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


@pytest.fixture(autouse=True)
def dump_every_audit_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """With CORSCHECK_DUMP_REPORTS=DIR, every report an audit in a test finishes is also written to
    DIR (compact JSON, named after the test), so that two runs of the suite, before and after a
    change to the plan, can be compared report by report (scripts/compare_reports.py)."""
    import os

    folder = os.environ.get("CORSCHECK_DUMP_REPORTS")
    if not folder:
        return
    import json
    import re
    from pathlib import Path

    from corscheck import audit as library
    from corscheck.report.codec import encode_report

    original = library.audit_targets
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", os.environ.get("PYTEST_CURRENT_TEST", "unknown"))
    test = test.removesuffix("_call").removesuffix("_setup")
    count = [0]

    async def audit_targets(*args: Any, **kwargs: Any) -> Any:
        report = await original(*args, **kwargs)
        count[0] += 1
        path = Path(folder) / f"{test}.{count[0]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(encode_report(report, "compact")), "utf-8")
        return report

    monkeypatch.setattr(library, "audit_targets", audit_targets)
