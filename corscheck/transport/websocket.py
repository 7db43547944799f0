"""A WebSocket opening handshake on the network, as a page's `new WebSocket(url)` makes it, and
nothing more: no data frame is ever sent. After a 101 the socket is watched for a short, bounded
while (a server that refuses an origin may accept and close at once with 1008), its first frame
read if one comes (at most MAX_FIRST_MESSAGE bytes of it), and then closed with code 1000.

Each handshake has a connection of its own (a browser opens one per socket), within the run's
timeout. Proxies are not spoken to here: a ws(s) target through --proxy is this target's error.
"""

from __future__ import annotations

import asyncio
import base64
import os
import ssl
import struct
from dataclasses import dataclass
from urllib.parse import urlsplit

from corscheck.errors import TargetError
from corscheck.exchange import Request, Response
from corscheck.headers import parse_header_lines
from corscheck.transport.options import RunOptions
from corscheck.transport.tls import client_tls_context

WATCH_SECONDS = 0.5  # how long an accepted socket is watched for an immediate close or message
MAX_FIRST_MESSAGE = 4096  # bytes of the first message kept (to compare with and without cookies)
_MAX_HEAD = 64 * 1024
_CLOSE_NORMAL = struct.pack("!H", 1000)


@dataclass(frozen=True, slots=True)
class Handshake:
    """The server's answer to a handshake: its head, and after a 101 the close code it sent at once
    (None: none within the watch) and the start of its first message (None: none came)."""

    response: Response
    close_code: int | None = None
    first_message: bytes | None = None


async def handshake(request: Request, options: RunOptions) -> Handshake:
    """Sends `request` (a GET to a ws:// or wss:// URL, its header lines as websocket.py builds them)
    and reads the answer. Raises TargetError."""
    parts = urlsplit(request.url)
    secure = parts.scheme.lower() == "wss"
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    default = port == (443 if secure else 80)
    authority = (f"[{host}]" if ":" in host else host) + ("" if default else f":{port}")
    head = [f"GET {target} HTTP/1.1", f"Host: {authority}"]
    head += [f"{name}: {value}" for name, value in request.headers]
    payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
    tls: ssl.SSLContext | None = client_tls_context(options.insecure) if secure else None
    where = f"{host}:{port}"
    try:
        async with asyncio.timeout(options.timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None, limit=_MAX_HEAD
            )
            try:
                writer.write(payload)
                await writer.drain()
                response = _response(await reader.readuntil(b"\r\n\r\n"))
                if response.status != 101:
                    return Handshake(response)
                close_code, message = await _watch(reader)
                if close_code is None:
                    writer.write(_close_frame())
                    await writer.drain()
                return Handshake(response, close_code, message)
            finally:
                writer.close()
    except TimeoutError:
        raise TargetError(
            "timeout", f"no handshake answer from {where} within {options.timeout:g} s"
        ) from None
    except asyncio.LimitOverrunError:
        raise TargetError("too-large", "handshake answer head larger than 64 KiB") from None
    except ssl.SSLError as error:
        raise TargetError("tls", f"TLS with {where} failed: {error.reason or error}") from None
    except (OSError, EOFError, asyncio.IncompleteReadError) as error:
        raise TargetError("connect", f"connection to {where} failed: {error}") from None


def _response(head: bytes) -> Response:
    lines = head[:-4].decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if (
        len(status_line) < 2
        or not status_line[0].startswith("HTTP/")
        or not status_line[1].isdigit()
    ):
        raise TargetError("protocol", f"not an HTTP response (status line {lines[0][:60]!r})")
    reason = status_line[2] if len(status_line) > 2 else ""
    return Response(
        int(status_line[1]), parse_header_lines(line for line in lines[1:] if line), reason
    )


async def _watch(reader: asyncio.StreamReader) -> tuple[int | None, bytes | None]:
    """The close code of a close frame, or the start of a first message, that comes within the
    watch; (None, None) when the socket stays open and quiet."""
    try:
        async with asyncio.timeout(WATCH_SECONDS):
            first, second = await reader.readexactly(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await reader.readexactly(8))
            if second & 0x80:
                await reader.readexactly(4)  # a server must not mask; read past it all the same
            body = await reader.readexactly(min(length, MAX_FIRST_MESSAGE))
    except (TimeoutError, asyncio.IncompleteReadError):
        return None, None
    if opcode == 0x8:
        return (struct.unpack("!H", body[:2])[0] if len(body) >= 2 else 1005), None
    return None, body


def _close_frame() -> bytes:
    """A client's close frame with code 1000, masked as RFC 6455 requires of a client."""
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(_CLOSE_NORMAL))
    return bytes((0x88, 0x80 | len(masked))) + mask + masked


def sec_websocket_key() -> str:
    """A fresh Sec-WebSocket-Key: 16 random bytes, base64."""
    return base64.b64encode(os.urandom(16)).decode("ascii")
