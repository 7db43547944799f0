"""What an audited URL stands for (deployment.py): the judged URL and the wire between them."""

from __future__ import annotations

import pytest

from corscheck.deployment import AS_GIVEN, Wire, judged_url
from corscheck.exchange import Request, Response
from corscheck.headers import HeaderList
from corscheck.runner import unwired, wired


@pytest.mark.parametrize(
    ("url", "judged"),
    [
        ("http://api.example.test/x?a=1", "https://api.example.test/x?a=1"),
        ("http://api.example.test:80/x", "https://api.example.test/x"),  # http's default port
        ("http://api.example.test:8080/x", "https://api.example.test:8080/x"),
        ("HTTP://Api.Example.Test/x", "https://Api.Example.Test/x"),
        ("http://testserver/api", "https://testserver/api"),  # an in-process app
        ("http://10.0.0.5/api", "https://10.0.0.5/api"),  # private, not potentially trustworthy
        ("http://u:p@api.example.test/x", "https://u:p@api.example.test/x"),
        # Potentially trustworthy or https already: judged as given.
        ("http://127.0.0.1:8000/api", "http://127.0.0.1:8000/api"),
        ("http://[::1]:8000/api", "http://[::1]:8000/api"),
        ("http://localhost:3000/api", "http://localhost:3000/api"),
        ("http://app.localhost/api", "http://app.localhost/api"),
        ("https://api.example.test/x", "https://api.example.test/x"),
    ],
)
def test_the_url_judged(url: str, judged: str) -> None:
    assert judged_url(url) == judged
    assert judged_url(url, as_is=True) == url


def test_the_wire_sends_to_the_url_given_and_reads_locations_as_the_deployment() -> None:
    wire = Wire.of("http://api.example.test:8080/x", "https://api.example.test:8080/x")
    assert wire and wire.judged == "https://api.example.test:8080"
    assert wire.outbound("https://api.example.test:8080/x?y") == "http://api.example.test:8080/x?y"
    assert wire.outbound("https://other.example/x") == "https://other.example/x"
    assert wire.inbound("http://api.example.test:8080/next") == "https://api.example.test:8080/next"
    assert wire.inbound("/relative") == "/relative"
    # A host that only begins alike is another host.
    assert wire.inbound("http://api.example.test:80801/x") == "http://api.example.test:80801/x"
    assert "http://api.example.test:8080" in wire.words()


def test_a_url_judged_as_given_has_no_wire() -> None:
    assert not Wire.of("https://a.example/x", "https://a.example/x")
    assert not AS_GIVEN
    request = Request("GET", "https://a.example/x", ())
    assert wired(request, AS_GIVEN) is request


def test_userinfo_is_not_part_of_the_wire() -> None:
    wire = Wire.of("http://u:secret@api.example.test/x", "https://u:secret@api.example.test/x")
    assert "secret" not in wire.judged + wire.given


def test_the_runner_maps_a_request_out_and_its_redirect_back() -> None:
    wire = Wire.of("http://api.example.test/x", "https://api.example.test/x")
    sent = wired(Request("GET", "https://api.example.test/x", (("Origin", "o"),)), wire)
    assert sent == Request("GET", "http://api.example.test/x", (("Origin", "o"),))
    answer = Response(302, HeaderList((("Location", " http://api.example.test/y"), ("Vary", "O"))))
    back = unwired(answer, wire)
    assert back.headers.lines == (("Location", "https://api.example.test/y"), ("Vary", "O"))
    plain = Response(200, HeaderList((("Vary", "Origin"),)))
    assert unwired(plain, wire) is plain
