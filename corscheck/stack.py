"""Which CORS layer answered, and how sure that is. PURE.

A fix names a setting, so it is a claim about the code behind the API: it is stated as fact only
when the answers themselves show the layer (each CORS layer answers a preflight in its own way) or
the user said so (`--framework`). A server name or an app's class says less: a uvicorn behind a
raw ASGI middleware, a Litestar or a Quart app is not Starlette, so a fix is then worded as a
condition ("if this is …"), and where nothing is known, only the generic fix is given.

Fingerprints, from the layers' own code (and tests/e2e/test_stack.py, which serves each one):
- Starlette's CORSMiddleware (FastAPI's too) answers a preflight itself: 200 with the two bytes
  "OK" as text/plain, or 400 as text/plain ("Disallowed CORS origin"), in both cases with its
  Access-Control-Allow-Methods and Max-Age lines.
- Litestar answers an allowed preflight 204 and lists the CORS-safelisted headers first in
  Access-Control-Allow-Headers ("Accept, Accept-Language, Content-Language, Content-Type").
- django-cors-headers adds a lower-case `Vary: origin` (and allows x-csrftoken by default).
- Express's `cors` joins its methods with "," alone (GET,HEAD,PUT), beside X-Powered-By: Express.
- Flask (and Quart, its asyncio twin) answer OPTIONS themselves with an Allow line and an empty
  text/html body; Flask-CORS adds its Access-Control-Allow-Methods to it; a Server line of
  Hypercorn says Quart.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from corscheck.headers import HeaderList

Certainty = Literal["given", "certain", "likely", "unknown"]

# The layers whose fixes corscheck can word (fixes.py), and how reports name them.
LAYER_NAMES = {
    "starlette": "Starlette/FastAPI CORSMiddleware",
    "fastapi": "Starlette/FastAPI CORSMiddleware",
    "litestar": "Litestar's CORSConfig",
    "flask": "Flask-CORS",
    "quart": "Quart",
    "django": "django-cors-headers",
    "express": "Express's cors package",
    "spring": "Spring's CorsConfiguration",
    "nginx": "nginx",
    "caddy": "Caddy",
    "apache": "Apache httpd",
    "generic": "a CORS layer corscheck has no fixes for",
}


@dataclass(frozen=True, slots=True)
class Stack:
    """The CORS layer a target's answers came from: its name (a key of LAYER_NAMES, or None),
    how sure that is, and the evidence, in a report's words."""

    layer: str | None = None
    certainty: Certainty = "unknown"
    evidence: str = "nothing in the answers names the CORS layer"

    @property
    def caveat(self) -> str | None:
        """What every deployment of this layer should know about its CORS answers."""
        return CAVEATS.get(self.layer or "")

    def statement(self) -> str:
        if self.layer is None:
            return f"not recognised ({self.evidence})"
        name = LAYER_NAMES.get(self.layer, self.layer)
        return f"{name} ({self.certainty}: {self.evidence})"


_STARLETTE_ERRORS = (
    "an unhandled exception is answered 500 without CORS headers (ServerErrorMiddleware sits "
    "outside every middleware added with add_middleware, CORSMiddleware included), so the "
    "front-end sees a CORS error instead of the 500"
)
CAVEATS = {"starlette": _STARLETTE_ERRORS, "fastapi": _STARLETTE_ERRORS}
STARLETTE_ERRORS_FIX = (
    "Turn exceptions into responses inside CORSMiddleware: a middleware added before "
    "CORSMiddleware (add_middleware puts the last one added outermost) that catches Exception "
    "and returns a 500 response; exception handlers for 500 and Exception run outside it."
)


STARLETTE_EXPLICIT = Stack(
    "starlette", "certain", "a preflight answered with CORSMiddleware's own text/plain response"
)


def recognize(
    responses: Iterable[tuple[str, int, HeaderList]],
    given: str | None = None,
    app_framework: str | None = None,
) -> Stack:
    """The CORS layer behind `responses` (each: hop kind, status, headers), most certain first:
    the user's `--framework`, a layer's own preflight answer, then the in-process app's class or
    a Server line, which say less."""
    if given is not None:
        return Stack(given, "given", "--framework")
    seen = list(responses)
    for kind, status, headers in seen:
        if kind == "preflight":
            found = _preflight_fingerprint(status, headers)
            if found is not None:
                return found
    if app_framework not in (None, "generic"):
        return Stack(
            app_framework,
            "likely",
            f"the app is a {app_framework} app; its CORS answers do not show which layer made them",
        )
    for _, _, headers in seen:
        found = _server_line(headers)
        if found is not None:
            return found
    return Stack()


def _preflight_fingerprint(status: int, headers: HeaderList) -> Stack | None:
    # Values as sent: a raw header line keeps the space after its colon.
    content_type = _value(headers, "Content-Type").lower()
    length = _value(headers, "Content-Length")
    methods = headers.combined("Access-Control-Allow-Methods")
    methods = methods.strip() if methods is not None else None
    allow_headers = _value(headers, "Access-Control-Allow-Headers")
    text_plain = content_type.startswith("text/plain")
    if methods is not None and text_plain and ((status == 200 and length == "2") or status == 400):
        return STARLETTE_EXPLICIT
    if status == 204 and allow_headers.startswith(
        "Accept, Accept-Language, Content-Language, Content-Type"
    ):
        return Stack(
            "litestar",
            "certain",
            "a preflight listed the safelisted headers first, as Litestar does",
        )
    vary = [token.strip() for token in _value(headers, "Vary").split(",")]
    if "origin" in vary or "x-csrftoken" in allow_headers:
        # django-cors-headers patches Vary with a lower-case "origin"; Django keeps it as set.
        return Stack(
            "django", "certain", "a preflight answered Vary: origin, as django-cors-headers"
        )
    powered = _value(headers, "X-Powered-By").lower()
    if methods is not None and "express" in powered and ", " not in methods:
        # The cors package joins its methods with "," alone; hand-written headers rarely do.
        return Stack("express", "certain", "a preflight listed methods as the cors package does")
    if headers.combined("Allow") is not None and content_type.startswith("text/html"):
        server = _value(headers, "Server").lower()
        if "hypercorn" in server:
            return Stack("quart", "likely", "an automatic OPTIONS answer served by Hypercorn")
        if methods is not None:
            return Stack(
                "flask", "certain", "Flask's automatic OPTIONS answer, with Flask-CORS's methods"
            )
        return Stack("flask", "likely", "an automatic OPTIONS answer, as Flask's or Quart's")
    return None


def _server_line(headers: HeaderList) -> Stack | None:
    server = _value(headers, "Server").lower()
    powered = _value(headers, "X-Powered-By").lower()
    if "express" in powered:
        return Stack("express", "likely", "X-Powered-By: Express")
    for name, layer in (("nginx", "nginx"), ("caddy", "caddy"), ("apache", "apache")):
        if name in server:
            return Stack(
                layer, "likely", f"Server: {name}; an app behind it may add the CORS headers"
            )
    if "werkzeug" in server:
        return Stack("flask", "likely", "Server: Werkzeug, Flask's development server")
    for name in ("uvicorn", "hypercorn", "gunicorn", "daphne", "granian"):
        if name in server:
            return Stack(
                None, "unknown", f"Server: {name}, which serves many frameworks; it names none"
            )
    return None


def _value(headers: HeaderList, name: str) -> str:
    """A header's value without the whitespace around it; "" when it is absent."""
    return (headers.combined(name) or "").strip()
