"""Shared fixtures. Keep this small: each fixture here is used by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

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
    original = json_format.render

    def render_and_validate(report):  # type: ignore[no-untyped-def]
        text = original(report)
        validator.validate(json.loads(text))
        return text

    monkeypatch.setattr(json_format, "render", render_and_validate)
