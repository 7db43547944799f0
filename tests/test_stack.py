"""stack.py on plain answers: which CORS layer answered, and how sure that is (issue 26, point 2).
The fingerprints come from the real layers' answers (test_fix_frameworks.py serves each one)."""

from __future__ import annotations

import pytest

from corscheck.headers import HeaderList
from corscheck.stack import Stack, recognize


def answer(kind: str, status: int, *lines: str) -> tuple[str, int, HeaderList]:
    return kind, status, HeaderList.of(tuple(line.split(": ", 1)) for line in lines)  # type: ignore[misc]


STARLETTE_OK = answer(
    "preflight",
    200,
    "access-control-allow-methods: DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
    "access-control-max-age: 600",
    "content-length: 2",
    "content-type: text/plain; charset=utf-8",
)
STARLETTE_REFUSED = answer(
    "preflight",
    400,
    "access-control-allow-methods: GET",
    "content-length: 22",
    "content-type: text/plain; charset=utf-8",
)
LITESTAR = answer(
    "preflight",
    204,
    "access-control-allow-headers: Accept, Accept-Language, Content-Language, Content-Type, x-a",
)
DJANGO = answer("preflight", 200, "Vary: origin", "access-control-allow-methods: GET, POST")
EXPRESS = answer(
    "preflight", 204, "X-Powered-By: Express", "Access-Control-Allow-Methods: GET,POST,PUT"
)
FLASK = answer(
    "preflight",
    200,
    "Content-Type: text/html; charset=utf-8",
    "Allow: GET, OPTIONS",
    "Access-Control-Allow-Methods: GET, POST",
)


@pytest.mark.parametrize(
    ("responses", "layer", "certainty"),
    [
        ([STARLETTE_OK], "starlette", "certain"),
        ([STARLETTE_REFUSED], "starlette", "certain"),
        ([LITESTAR], "litestar", "certain"),
        ([DJANGO], "django", "certain"),
        ([EXPRESS], "express", "certain"),
        ([FLASK], "flask", "certain"),
        (
            [answer("preflight", 200, "Content-Type: text/html", "Allow: GET, OPTIONS")],
            "flask",
            "likely",
        ),
        (
            [
                answer(
                    "preflight",
                    200,
                    "Content-Type: text/html",
                    "Allow: GET",
                    "Server: hypercorn-h11",
                )
            ],
            "quart",
            "likely",
        ),
        ([answer("actual", 200, "X-Powered-By: Express")], "express", "likely"),
        (
            [
                answer(
                    "preflight",
                    204,
                    "X-Powered-By: Express",
                    "Access-Control-Allow-Methods: GET, POST",
                )
            ],
            "express",
            "likely",
        ),
        ([answer("actual", 200, "Server: nginx/1.25")], "nginx", "likely"),
        ([answer("actual", 200, "Server: Caddy")], "caddy", "likely"),
        ([answer("actual", 200, "Server: Apache/2.4")], "apache", "likely"),
        ([answer("actual", 200, "Server: Werkzeug/3.1 Python/3.11")], "flask", "likely"),
        ([answer("actual", 200, "server: uvicorn")], None, "unknown"),
        ([answer("actual", 200)], None, "unknown"),
        # A Starlette-like answer to an actual request is not a preflight: it says nothing.
        ([("actual", 200, STARLETTE_OK[2])], None, "unknown"),
    ],
)
def test_recognize(
    responses: list[tuple[str, int, HeaderList]], layer: str | None, certainty: str
) -> None:
    stack = recognize(responses)
    assert (stack.layer, stack.certainty) == (layer, certainty)


def test_the_answers_outrank_the_apps_class_and_the_class_outranks_the_server_line() -> None:
    assert recognize([DJANGO], app_framework="starlette").layer == "django"
    by_class = recognize([answer("actual", 200, "server: uvicorn")], app_framework="fastapi")
    assert (by_class.layer, by_class.certainty) == ("fastapi", "likely")
    assert (
        recognize([answer("actual", 200, "server: uvicorn")], app_framework="generic").layer is None
    )


def test_the_users_framework_outranks_everything() -> None:
    assert recognize([DJANGO], given="express") == Stack("express", "given", "--framework")


def test_a_raw_uvicorn_app_is_not_starlette() -> None:
    raw = answer(
        "preflight",
        200,
        "server: uvicorn",
        "access-control-allow-origin: https://a.example",
        "access-control-allow-methods: GET, POST, PUT",
    )
    stack = recognize([raw])
    assert stack.layer is None and "uvicorn" in stack.statement()


def test_statement() -> None:
    assert (
        recognize([STARLETTE_OK])
        .statement()
        .startswith("Starlette/FastAPI CORSMiddleware (certain: ")
    )
    assert Stack().statement().startswith("not recognised (")


@pytest.mark.parametrize(
    ("layer", "name"),
    [
        ("starlette", "Starlette/FastAPI CORSMiddleware"),
        ("fastapi", "Starlette/FastAPI CORSMiddleware"),
        ("litestar", "Litestar's CORSConfig"),
        ("flask", "Flask-CORS"),
        ("quart", "Quart"),
        ("django", "django-cors-headers"),
        ("express", "Express's cors package"),
        ("spring", "Spring's CorsConfiguration"),
        ("nginx", "nginx"),
        ("caddy", "Caddy"),
        ("apache", "Apache httpd"),
        ("generic", "a CORS layer corscheck has no fixes for"),
    ],
)
def test_each_layer_is_named_in_reports(layer: str, name: str) -> None:
    assert Stack(layer, "given", "--framework").statement() == f"{name} (given: --framework)"


@pytest.mark.parametrize("server", ["hypercorn-h11", "gunicorn/23", "daphne", "granian"])
def test_servers_of_many_frameworks_name_none(server: str) -> None:
    stack = recognize([answer("actual", 200, f"Server: {server}")])
    assert stack.layer is None and server.split("-")[0].split("/")[0] in stack.evidence


@pytest.mark.parametrize(
    "response",
    [
        # text/plain with CORS lines, but not CORSMiddleware's two-byte "OK" or its 400
        answer(
            "preflight",
            200,
            "access-control-allow-methods: GET",
            "content-length: 5",
            "content-type: text/plain",
        ),
        answer(
            "preflight",
            204,
            "access-control-allow-methods: GET",
            "content-length: 2",
            "content-type: text/plain",
        ),
        # an Allow line without Flask's text/html body
        answer("preflight", 200, "Allow: GET", "Content-Type: application/json"),
    ],
)
def test_near_misses_are_not_recognised(response: tuple[str, int, HeaderList]) -> None:
    assert recognize([response]).layer is None


def test_django_by_its_vary_among_others_or_its_default_headers() -> None:
    assert recognize([answer("preflight", 200, "Vary: Accept-Encoding, origin")]).layer == "django"
    csrf = answer("preflight", 200, "access-control-allow-headers: accept, x-csrftoken")
    assert recognize([csrf]).layer == "django"


def test_values_are_read_without_the_space_a_raw_header_line_keeps() -> None:
    raw = answer(
        "preflight",
        400,
        "content-type:  text/plain; charset=utf-8 ",
        "access-control-allow-methods:  GET",
        "server:  uvicorn",
    )
    assert recognize([raw]).layer == "starlette"
