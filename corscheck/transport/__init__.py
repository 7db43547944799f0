"""Every byte corscheck puts on the network, or into an in-process app, goes through a `Transport`
built once from the run's options (in the spirit of httpx's `_transports/`):

- `http11.py`: corscheck's own HTTP/1.1 client (TLS, keep-alive, HTTP proxies), for real targets;
- `httpx_adapter.py`: a transport over an httpx client, for respx-mocked tests;
- `inprocess.py`: an ASGI or WSGI app called directly, its lifespan run around the audit.

`open_transport` picks one; `fetch_document` reads a bounded body through it (the OpenAPI document),
so `--proxy`, `--no-proxy`, `--insecure` and `--timeout` hold for it as for every probe.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from corscheck.errors import TargetError
from corscheck.transport.base import Transport
from corscheck.transport.options import RunOptions

if TYPE_CHECKING:
    from corscheck.transport.app import LoadedApp

__all__ = ["Transport", "fetch_document", "network_transport", "open_transport"]

MAX_DOCUMENT_REDIRECTS = 5  # an OpenAPI document behind a trailing-slash or http→https redirect


def network_transport(options: RunOptions) -> Transport:
    """The transport for real targets."""
    from corscheck.transport.http11 import NetworkTransport

    return NetworkTransport(options)


@asynccontextmanager
async def open_transport(
    options: RunOptions, app: LoadedApp | None = None, base_url: str | None = None
) -> AsyncIterator[Transport]:
    """The run's transport: into `app` (its lifespan started and stopped around the run) when one is
    given, else to the network with `options`; closed on the way out."""
    if app is None:
        transport = network_transport(options)
        try:
            yield transport
        finally:
            await transport.aclose()
        return
    from corscheck.transport.inprocess import app_transport
    from corscheck.transport.options import DEFAULT_BASE_URL

    async with app_transport(app, base_url or DEFAULT_BASE_URL) as transport:
        yield transport


async def fetch_document(transport: Transport, url: str, limit: int) -> tuple[str, int, bytes]:
    """GET `url` through `transport`, following up to MAX_DOCUMENT_REDIRECTS redirects: the final
    URL, its status and at most `limit` bytes of its body. Raises TargetError."""
    from corscheck.exchange import Request

    for _ in range(MAX_DOCUMENT_REDIRECTS + 1):
        request = Request("GET", url, (("Accept", "application/json, application/yaml, */*"),))
        response, body = await transport.read(request, limit)
        location = response.headers.combined("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            url = urljoin(url, location.strip())
            continue
        return url, response.status, body
    raise TargetError("protocol", f"more than {MAX_DOCUMENT_REDIRECTS} redirects from {url}")
