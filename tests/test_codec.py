"""report/codec.py owns both directions of the JSON contract: for every report, decoding what was
encoded gives the report back, and the encoding follows the shipped schema."""

from __future__ import annotations

import json

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from corscheck.browser import REASON_IDS, Probe, Verdict
from corscheck.evaluate import Evidence, Exposure, Finding, ProbeResult, Suppression
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import HeaderList
from corscheck.plan import PlannedProbe
from corscheck.policy import MaxAge, build_policy
from corscheck.report.codec import decode_report, encode_report
from corscheck.report.model import (
    BaselineRecord,
    IgnoreRecord,
    Report,
    TargetErrorRecord,
    TargetReport,
)
from corscheck.rules import CATALOG, SEVERITIES
from corscheck.target import Route, SourceLocation
from corscheck.visitor import PROFILES

from .test_formats import report_schema

text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
names = st.sampled_from(
    ["Origin", "Vary", "Access-Control-Allow-Origin", "X-Custom", "Content-Type"]
)
lines = st.lists(st.tuples(names, text), max_size=3).map(tuple)
urls = st.sampled_from(["https://api.example.com/", "http://127.0.0.1:8000/items?id=1"])
origins = st.sampled_from(["https://app.example.com", "null", "https://evil.example"])
methods = st.sampled_from(["GET", "PUT", "OPTIONS", "patch"])
maybe_text = st.none() | text

requests = st.builds(Request, methods, urls, lines)
responses = st.builds(Response, st.integers(100, 599), lines.map(HeaderList), text)
hops = st.builds(Hop, st.sampled_from(["preflight", "actual"]), requests, responses)
exchanges = st.builds(Exchange, st.lists(hops, max_size=2).map(tuple), st.none() | requests)
verdicts = st.builds(
    Verdict,
    allowed=st.booleans(),
    preflight=st.booleans(),
    reason_id=st.none() | st.sampled_from(REASON_IDS),
    reason=maybe_text,
    failed_step=st.none() | st.sampled_from(["request", "preflight", "actual", "redirect"]),
    readable_headers=st.lists(text, max_size=2).map(tuple),
    actual_checked=st.booleans(),
    notes=st.lists(text, max_size=2).map(tuple),
    judged=st.booleans(),
    refused_method=st.none() | methods,
    refused_header=st.none() | names,
)
probes = st.builds(
    Probe,
    urls,
    origins,
    methods,
    lines,
    st.sampled_from(["omit", "same-origin", "include"]),
    extra_headers=lines,
    cookie=st.none() | st.sampled_from(["", "sid=1", "a=1; b=2"]),
)
planned = st.builds(
    PlannedProbe,
    probes,
    st.sampled_from(["allowed", "unrelated", "null"]),
    text,
    st.sampled_from(["origin", "request", "method", "header", "private-network"]),
    text,
    st.lists(st.sampled_from(PROFILES), max_size=2, unique=True).map(tuple),
)
results = st.builds(
    ProbeResult,
    planned,
    exchanges,
    verdicts,
    st.none() | st.booleans(),
    st.sampled_from(["as-expected", "over-permissive", "under-permissive", "not-checked"]),
)
evidence = st.builds(
    Evidence,
    origin=origins,
    method=methods,
    request_headers=lines,
    credentials=st.sampled_from(["omit", "include"]),
    step=st.sampled_from(["preflight", "actual", "none"]),
    status=st.none() | st.integers(100, 599),
    response_lines=lines,
    reason=maybe_text,
    related=st.lists(text, max_size=2).map(tuple),
    sent_method=st.sampled_from(["", "OPTIONS", "GET"]),
    sent_lines=lines,
    origin_class=st.sampled_from(["", "allowed", "unrelated"]),
)
findings = st.builds(
    Finding,
    st.sampled_from(CATALOG),
    st.sampled_from(SEVERITIES),
    urls,
    text,
    evidence,
    st.lists(text, max_size=2).map(tuple),
    text,
    suppressed=st.none() | st.builds(Suppression, text, st.none() | text, text),
    baseline=st.sampled_from([None, "new", "unchanged"]),
    exposure=st.lists(
        st.builds(
            Exposure,
            st.sampled_from(PROFILES),
            st.lists(origins, max_size=2).map(tuple),
            st.lists(origins, max_size=2).map(tuple),
            st.none() | st.integers(100, 599),
        ),
        max_size=2,
    ).map(tuple),
)
policies = st.none() | st.builds(
    build_policy,
    origins=st.sampled_from([["https://app.example.com"], ["*"], ["https://*.example.com"]]),
    methods=st.none() | st.just(["GET", "PUT"]),
    headers=st.none() | st.just(["Content-Type"]),
    expose=st.just(["X-Request-Id"]),
    credentials=st.just(False),
    max_age=st.none() | st.just(MaxAge(min=600, max=7200)),
)
routes = st.none() | st.builds(
    Route,
    st.just("/items/{id}"),
    urls,
    st.just(("GET", "PUT")),
    st.just(("Authorization",)),
    st.booleans(),
    st.just(("id = 1 (placeholder for an integer)",)),
)


@st.composite
def targets(draw: st.DrawFn) -> TargetReport:
    url = draw(urls)
    route = draw(routes)
    return TargetReport(
        url,
        draw(policies),
        probes=tuple(draw(st.lists(results, max_size=3))),
        findings=tuple(draw(st.lists(findings, max_size=2))),
        errors=tuple(
            draw(
                st.lists(
                    st.builds(TargetErrorRecord, st.sampled_from(["timeout", "connect"]), text),
                    max_size=1,
                )
            )
        ),
        requests_sent=draw(st.integers(0, 50)),
        source=draw(st.none() | st.builds(SourceLocation, text, st.integers(1, 99))),
        # A route's URL is its target's (the codec writes it once).
        route=None
        if route is None
        else Route(route.path, url, route.methods, route.headers, route.cookie_auth, route.filled),
    )


reports = st.builds(
    Report,
    version=st.just("1.0"),
    generated_at=st.just("2026-12-05T00:00:00+00:00"),
    depth=st.sampled_from(["quick", "standard", "thorough"]),
    fail_on=st.sampled_from(["critical", "high", "medium", "low", "never"]),
    targets=st.lists(targets(), max_size=3).map(tuple),
    warnings=st.lists(text, max_size=2).map(tuple),
    ignores=st.lists(
        st.builds(
            IgnoreRecord,
            st.sampled_from([r.id for r in CATALOG]),
            st.none() | text,
            st.none() | origins,
            text,
            st.none() | st.just("2027-01-01"),
            text,
            st.integers(0, 5),
            st.sampled_from(["active", "expired", "unused"]),
        ),
        max_size=2,
    ).map(tuple),
    baseline=st.none() | st.builds(BaselineRecord, text, st.lists(findings, max_size=2).map(tuple)),
    partial=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(reports)
def test_decode_of_encode_is_the_report(report: Report) -> None:
    data = json.loads(json.dumps(encode_report(report)))  # through real JSON text
    assert decode_report(data) == report


@settings(max_examples=40, deadline=None)
@given(reports)
def test_the_encoding_follows_the_schema(report: Report) -> None:
    jsonschema.validate(json.loads(json.dumps(encode_report(report))), report_schema())
