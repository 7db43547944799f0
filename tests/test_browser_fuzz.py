"""Random response header lines, statuses and probes through the browser model: it always returns a
verdict (never raises), and a blocked verdict always names its reason."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corscheck.browser import Probe, judge, next_request
from corscheck.exchange import Exchange, Hop, Request, Response
from corscheck.headers import parse_header_lines

NAMES = st.sampled_from(
    ["Access-Control-Allow-Origin", "access-control-allow-credentials", "Access-Control-Allow-Methods",
     "ACCESS-CONTROL-ALLOW-HEADERS", "Access-Control-Expose-Headers", "Location", "Content-Length",
     "Vary", " Access-Control-Allow-Origin", "X-Junk"]
)  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["*", "null", "true", "True", "https://a.example", " https://a.example ",
                     "https://a.example, https://b.example", "PUT, patch", "*, Authorization",
                     "/next", "http://other.example/", "0", "-1", ""]),
    st.text(max_size=40),
)  # fmt: skip
LINES = st.lists(
    st.one_of(st.tuples(NAMES, VALUES).map(lambda p: f"{p[0]}:{p[1]}"), st.text(max_size=30)),
    max_size=8,
)
PROBES = st.builds(
    Probe,
    url=st.sampled_from(["https://api.example/x", "http://api.example:8080/y?z=1"]),
    origin=st.sampled_from(["https://a.example", "null", "http://api.example:8080"]),
    method=st.sampled_from(["GET", "POST", "PUT", "patch", "DELETE", "OPTIONS", "TRACE", "G ET"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["Content-Type", "X-Api", "Authorization", "Accept", "Range"]), VALUES
        ),
        max_size=3,
    ).map(tuple),
    credentials=st.sampled_from(["omit", "same-origin", "include"]),
)


@settings(max_examples=400, deadline=None)
@given(
    probe=PROBES,
    responses=st.lists(st.tuples(st.integers(100, 999), LINES), min_size=1, max_size=4),
)
def test_browser_model_always_decides(probe: Probe, responses: list[tuple[int, list[str]]]) -> None:
    hops: list[Hop] = []
    for status, lines in responses:
        step = next_request(probe, hops)
        if step is None:
            break
        kind, request = step
        assert isinstance(request, Request)
        hops.append(Hop(kind, request, Response(status, parse_header_lines(lines))))
    verdict = judge(probe, Exchange(tuple(hops)))
    if not verdict.allowed and verdict.actual_checked:
        assert verdict.reason
    if verdict.allowed:
        assert verdict.failed_step is None and verdict.reason is None
