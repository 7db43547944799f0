"""A transport over an httpx client: in-process ASGI/WSGI apps (transport/inprocess.py) and
respx-mocked tests, where exact header bytes matter less than reaching the app without a socket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corscheck.errors import TargetError
from corscheck.exchange import Request, Response
from corscheck.headers import HeaderList

if TYPE_CHECKING:
    import httpx

    from corscheck.transport.base import Transport


class HttpxTransport:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, request: Request) -> Response:
        import httpx

        built = self._client.build_request(
            request.method, request.url, headers=list(request.headers)
        )
        try:
            response = await self._client.send(built, stream=True, follow_redirects=False)
        except httpx.TimeoutException:
            raise TargetError("timeout", f"no response from {request.url} in time") from None
        except httpx.ConnectError as error:
            raise TargetError("connect", f"cannot connect to {request.url}: {error}") from None
        except httpx.ProxyError as error:
            raise TargetError("proxy", str(error)) from None
        except httpx.TransportError as error:
            raise TargetError("protocol", f"{type(error).__name__}: {error}") from None
        try:
            return Response(
                response.status_code,
                HeaderList.from_raw(response.headers.raw),
                response.reason_phrase,
            )
        finally:
            await response.aclose()

    async def read(self, request: Request, limit: int) -> tuple[Response, bytes]:
        import httpx

        built = self._client.build_request(
            request.method, request.url, headers=list(request.headers)
        )
        try:
            response = await self._client.send(built, stream=True, follow_redirects=False)
            body = bytearray()
            try:
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        raise TargetError("too-large", f"{request.url}: body over {limit} bytes")
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            raise TargetError("timeout", f"no response from {request.url} in time") from None
        except httpx.TransportError as error:
            raise TargetError("connect", f"cannot fetch {request.url}: {error}") from None
        head = Response(
            response.status_code, HeaderList.from_raw(response.headers.raw), response.reason_phrase
        )
        return head, bytes(body)

    async def aclose(self) -> None:
        await self._client.aclose()


def httpx_transport(client: httpx.AsyncClient) -> Transport:
    """A transport over an httpx client: an ASGI/WSGI app's transport, or a respx-mocked one."""
    return HttpxTransport(client)
