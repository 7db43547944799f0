"""har.py: the front-end's cross-origin calls in a HAR recording, plain data in and out."""

from __future__ import annotations

from typing import Any

import pytest

from corscheck.errors import UsageError
from corscheck.har import har_calls

FRONT = "https://app.example.com"
API = "https://api.example.com"


def entry(
    method: str, url: str, headers: dict[str, str], answer: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "request": {
            "method": method,
            "url": url,
            "headers": [{"name": n, "value": v} for n, v in headers.items()],
        },
        "response": {
            "status": 200,
            "headers": [{"name": n, "value": v} for n, v in (answer or {}).items()],
        },
    }


def har(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"log": {"version": "1.2", "entries": list(entries)}}


def test_calls_per_url_with_methods_headers_and_credentials() -> None:
    calls = har_calls(
        har(
            entry("GET", f"{FRONT}/", {"Accept": "text/html"}),  # the page itself: same-origin
            entry("GET", f"{API}/me?token=abc", {"Origin": FRONT, "Cookie": "s=1", "User-Agent": "x"}),
            entry("OPTIONS", f"{API}/items/1", {"Origin": FRONT, "Access-Control-Request-Method": "PUT",
                                                "Access-Control-Request-Headers": "authorization,content-type"}),
            entry("PUT", f"{API}/items/1", {"Origin": FRONT, "Content-Type": "application/json"}),
        ),
        "x.har",
    )  # fmt: skip
    assert calls.origins == [FRONT]
    assert [(c.url, c.methods, c.headers, c.credentials) for c in calls.calls] == [
        (f"{API}/me", ["GET"], [], True),
        (f"{API}/items/1", ["PUT"], ["authorization", "content-type"], False),
    ]
    assert calls.notes == []


def test_a_sanitized_export_says_credentials_come_from_the_flags() -> None:
    calls = har_calls(har(entry("GET", f"{API}/me", {"Origin": FRONT})), "clean.har")
    (note,) = calls.notes
    assert "browsers export HAR without them" in note and "--credentials" in note


def test_a_credentialed_answer_counts_as_credentials() -> None:
    answer = {"Access-Control-Allow-Credentials": "true"}
    calls = har_calls(har(entry("GET", f"{API}/me", {"Origin": FRONT}, answer)), "x.har")
    assert calls.calls[0].credentials and calls.notes == []


def test_only_cors_requests_are_calls() -> None:
    """A navigation or a script load names its page only in a Referer (a search engine's
    click-through, a CDN's loader): no CORS call, and no origin of the policy."""
    calls = har_calls(
        har(
            entry("GET", f"{FRONT}/", {"Referer": "https://www.google.com/"}),
            entry("GET", "https://cdn.example.net/lib.js", {"Referer": f"{FRONT}/"}),
            entry("GET", f"{API}/me", {"Origin": FRONT, "Sec-Fetch-Mode": "cors"}),
            entry("GET", f"{API}/img", {"Origin": FRONT, "Sec-Fetch-Mode": "no-cors"}),
        ),
        "x.har",
    )
    assert calls.origins == [FRONT]
    assert [c.url for c in calls.calls] == [f"{API}/me"]


def test_userinfo_and_query_of_a_recorded_url_are_not_kept() -> None:
    url = "https://alice:hunter2@api.example.com:8443/v1/items?token=abc#x"
    (call,) = har_calls(har(entry("GET", url, {"Origin": FRONT})), "x.har").calls
    assert call.url == "https://api.example.com:8443/v1/items"


@pytest.mark.parametrize(
    "document",
    [
        {"log": {"entries": ["x", None, {"request": "x"}, {"request": None, "response": None}]}},
        {
            "log": {
                "entries": [{"request": {"url": None, "method": None, "headers": [{"name": None}]}}]
            }
        },
        {"log": {"entries": [{"request": {"url": f"{API}/me", "headers": "x"}, "response": "x"}]}},
    ],
)
def test_a_malformed_recording_is_one_line(document: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="holds no cross-origin request"):
        har_calls(document, "x.har")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"not": "a har"}, "is not a HAR recording"),
        ({"log": []}, "is not a HAR recording"),
        ({"log": None}, "is not a HAR recording"),
        (har(entry("GET", f"{API}/me", {"Origin": API})), "holds no cross-origin request"),
    ],
)
def test_what_is_not_usable_is_one_line(document: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        har_calls(document, "x.har")
