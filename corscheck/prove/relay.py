"""The header relay of a proof: a forward proxy on loopback through which the browser reaches the
targets when the audit sent -H headers a page cannot send unasked (Authorization, an API key), and
the TLS front of an https deployment judged for an http URL (deployment.py).

The audit sends them with every request, preflights included, as a gateway in front of the API
would. A page's fetch() could only send them as its own headers, which makes another request (a
preflight it did not have). So the browser makes the page's request exactly, and the relay adds the
-H headers on the way, as that gateway: http targets as a plain forward proxy, https ones through a
CONNECT tunnel it terminates with the proofs' throwaway certificate (which Chromium accepts by its
key alone) and opens again to the target with corscheck's own TLS check. Chromium's CORS check sees
the target's answers unchanged.

One request per connection (each is sent with `Connection: close`), every read bounded in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from corscheck.headers import HeaderLine
from corscheck.prove.closing import Closing
from corscheck.prove.replay import host_port
from corscheck.transport.tls import client_tls_context

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
)
_MAX_HEAD = 64 * 1024


class HeaderRelay(Closing):
    """The relay on a loopback port, stopped on leaving `with`."""

    def __init__(
        self,
        headers: Sequence[HeaderLine],
        allowed: Iterable[str],
        cert_file: Path,
        key_file: Path,
        *,
        insecure: bool,
        timeout: float,
        wires: Mapping[str, tuple[str, str, int]] | None = None,
    ) -> None:
        self._headers = tuple(headers)
        # host:port of the targets; nothing else is relayed. `wires` maps the host:port of an https
        # deployment judged for an http URL (deployment.py) to where its requests go: the relay is
        # that deployment's TLS front.
        self._wires = dict(wires or {})
        self._allowed = frozenset(allowed) | frozenset(self._wires)
        self._names = {name.lower() for name, _ in headers}
        self._timeout = timeout
        self._upstream_tls = client_tls_context(insecure)
        self._tunnel_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._tunnel_tls.load_cert_chain(cert_file, key_file)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the header relay did not start")

    @property
    def where(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_MAX_HEAD)
        )
        self.port = int(server.sockets[0].getsockname()[1])
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._one(reader, writer), self._timeout * 3)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError, ssl.SSLError):
            pass  # the browser sees the connection end, as it would with a broken gateway
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, target, version, lines = await _head(reader)
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            if target.lower() not in self._allowed:
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
                return
            writer.write(f"{version} 200 Connection established\r\n\r\n".encode("latin-1"))
            await writer.drain()
            await writer.start_tls(self._tunnel_tls)
            method, path, version, lines = await _head(reader)
            scheme, upstream, upstream_port = self._wires.get(
                target.lower(), ("https", host.strip("[]"), int(port))
            )
            await self._forward(
                reader, writer, scheme, upstream, upstream_port, method, path, version, lines
            )
            return
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname or host_port(target) not in self._allowed:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        await self._forward(
            reader, writer, "http", parts.hostname, parts.port or 80, method, path, version, lines
        )

    async def _forward(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        scheme: str,
        host: str,
        port: int,
        method: str,
        path: str,
        version: str,
        lines: list[HeaderLine],
    ) -> None:
        length = next((int(v) for n, v in lines if n.lower() == "content-length"), 0)
        body = await reader.readexactly(length) if length else b""
        kept = [
            (n, v)
            for n, v in lines
            if n.lower() not in _HOP_BY_HOP and n.lower() not in self._names
        ]
        head = [f"{method} {path} {version}", *(f"{n}: {v}" for n, v in kept)]
        head += [f"{n}: {v}" for n, v in self._headers]
        head.append("Connection: close")
        upstream_reader, upstream_writer = await asyncio.wait_for(
            asyncio.open_connection(
                host,
                port,
                ssl=self._upstream_tls if scheme == "https" else None,
                server_hostname=host if scheme == "https" else None,
            ),
            self._timeout,
        )
        try:
            upstream_writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await upstream_writer.drain()
            while chunk := await asyncio.wait_for(upstream_reader.read(65536), self._timeout):
                writer.write(chunk)
                await writer.drain()
        finally:
            upstream_writer.close()

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(timeout=5)
        self._loop.close()


async def _head(reader: asyncio.StreamReader) -> tuple[str, str, str, list[HeaderLine]]:
    """A request's first line and header lines."""
    raw = await reader.readuntil(b"\r\n\r\n")
    first, *rest = raw.decode("latin-1").split("\r\n")
    method, target, version = first.split(" ", 2)
    lines = [(n.strip(), v.strip()) for n, _, v in (line.partition(":") for line in rest if line)]
    return method, target, version, lines
