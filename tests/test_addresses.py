"""Mixed content (addresses.py): which http URLs an https page may not fetch."""

from __future__ import annotations

import pytest

from corscheck.addresses import address_space, blocked_as_mixed_content

HTTPS_PAGE = "https://app.example.com"


@pytest.mark.parametrize(
    ("page", "url", "blocked"),
    [
        (HTTPS_PAGE, "http://api.example.com/x", True),
        (HTTPS_PAGE, "HTTP://api.example.com/x", True),
        (HTTPS_PAGE, "https://api.example.com/x", False),
        ("http://app.example.com", "http://api.example.com/x", False),
        ("null", "http://api.example.com/x", False),
        (HTTPS_PAGE, "http://127.0.0.1:8000/x", False),
        (HTTPS_PAGE, "http://127.9.9.9/x", False),
        (HTTPS_PAGE, "http://[::1]:8000/x", False),
        (HTTPS_PAGE, "http://localhost/x", False),
        (HTTPS_PAGE, "http://api.localhost./x", False),
        (HTTPS_PAGE, "http://10.0.0.5/x", True),  # private, not potentially trustworthy
        (HTTPS_PAGE, "http://api.local/x", True),
        (HTTPS_PAGE, "http://testserver/x", True),  # as given (audit judges it as https)
        (HTTPS_PAGE, "http://testserver.example/x", True),
        (HTTPS_PAGE, "http://[::1/x", False),  # no URL to judge
    ],
)
def test_blocked_as_mixed_content(page: str, url: str, blocked: bool) -> None:
    assert blocked_as_mixed_content(page, url) is blocked


@pytest.mark.parametrize(
    ("host", "space"),
    [("[::1]", "loopback"), ("LOCALHOST.", "loopback"), ("a.localhost.", "loopback")],
)
def test_written_forms_of_loopback(host: str, space: str) -> None:
    assert address_space(host) == space
