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


def test_what_devtools_and_the_browser_add_is_not_the_page_s() -> None:
    added = {
        "Cache-Control": "no-cache",
        "Pragma": "no-cache",
        "Priority": "u=1, i",
        "DNT": "1",
        "Upgrade-Insecure-Requests": "1",
        "User-Agent": "x",
        ":authority": "api.example.com",
    }
    calls = har_calls(har(entry("GET", f"{API}/me", {"Origin": FRONT, **added})), "x.har")
    assert calls.calls[0].headers == []


def test_each_credential_sign_on_its_own() -> None:
    for headers, extra in (
        ({"Authorization": "Bearer t"}, {}),
        ({"Cookie": "s=1"}, {}),
        ({}, {"cookies": [{"name": "s", "value": "1"}]}),
    ):
        document = har(entry("GET", f"{API}/me", {"Origin": FRONT, **headers}))
        document["log"]["entries"][0]["request"].update(extra)
        assert har_calls(document, "x.har").calls[0].credentials, (headers, extra)


def test_a_null_origin_and_a_non_http_url_are_no_calls() -> None:
    with pytest.raises(UsageError, match="holds no cross-origin request"):
        har_calls(
            har(
                entry("GET", f"{API}/me", {"Origin": "null"}),
                entry("GET", "ws://api.example.com/socket", {"Origin": FRONT}),
            ),
            "x.har",
        )


def test_an_http_api_and_a_default_method() -> None:
    document = har(entry("GET", "http://api.example.com/me", {"Origin": FRONT}))
    del document["log"]["entries"][0]["request"]["method"]
    (call,) = har_calls(document, "x.har").calls
    assert call.url == "http://api.example.com/me" and call.methods == ["GET"]


def test_a_preflight_names_headers_only_for_its_own_method() -> None:
    calls = har_calls(
        har(
            entry("OPTIONS", f"{API}/items", {"Origin": FRONT, "Access-Control-Request-Method": "PUT",
                                              "Access-Control-Request-Headers": "x-token"}),
            entry("OPTIONS", f"{API}/other", {"Origin": FRONT, "Access-Control-Request-Method": "GET",
                                              "Access-Control-Request-Headers": "x-other"}),
            entry("GET", f"{API}/items", {"Origin": FRONT}),
            entry("OPTIONS", f"{API}/items", {"Origin": FRONT}),  # a plain OPTIONS call
        ),
        "x.har",
    )  # fmt: skip
    (call,) = calls.calls
    assert call.methods == ["GET", "OPTIONS"] and call.headers == []


def test_an_ipv6_api_keeps_its_brackets() -> None:
    (call,) = har_calls(
        har(entry("GET", "https://[::1]:8443/me?x=1", {"Origin": FRONT})), "x.har"
    ).calls
    assert call.url == "https://[::1]:8443/me"


def test_a_credentialed_answer_must_say_true() -> None:
    answer = {"Access-Control-Allow-Credentials": "false"}
    calls = har_calls(har(entry("GET", f"{API}/me", {"Origin": FRONT}, answer)), "x.har")
    assert not calls.calls[0].credentials and calls.notes
