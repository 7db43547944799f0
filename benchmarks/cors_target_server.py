"""A fast loopback CORS server for benchmarks: raw asyncio, keep-alive, one process.

Path /t/<n> picks a behaviour by n % 4: 0 reflects any origin with credentials, 1 allows only
https://app.example.com (correct), 2 answers *, 3 trusts null and the allowed origin. Prints its port on
stdout, then serves until stdin closes or `--seconds` pass, whichever is first (always bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys

ALLOWED = b"https://app.example.com"


def cors_lines(n: int, origin: bytes | None, preflight: bool) -> list[bytes]:
    kind = n % 4
    if origin is None:
        return []
    if (
        kind == 0
        or (kind == 1 and origin == ALLOWED)
        or (kind == 3 and origin in (ALLOWED, b"null"))
    ):
        lines = [
            b"Access-Control-Allow-Origin: " + origin,
            b"Access-Control-Allow-Credentials: true",
        ]
        lines.append(b"Vary: Origin")
    elif kind == 2:
        lines = [b"Access-Control-Allow-Origin: *"]
    else:
        return [b"Vary: Origin"]
    if preflight:
        lines += [
            b"Access-Control-Allow-Methods: GET, POST, PUT",
            b"Access-Control-Allow-Headers: Content-Type, Authorization",
            b"Access-Control-Max-Age: 600",
        ]
    return lines


class Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.answer(head)

    def answer(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        method, target, _ = lines[0].split(b" ", 2)
        origin = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"origin":
                origin = value.strip()
        path = target.split(b"?", 1)[0]
        try:
            n = int(path.rsplit(b"/", 1)[-1])
        except ValueError:
            n = 1
        body = b"" if method in (b"OPTIONS", b"HEAD") else b'{"ok":true}'
        status = b"204 No Content" if method == b"OPTIONS" else b"200 OK"
        out = [b"HTTP/1.1 " + status, b"Content-Type: application/json"]
        out += cors_lines(n, origin, method == b"OPTIONS")
        out.append(b"Content-Length: %d" % len(body))
        self.transport.write(b"\r\n".join(out) + b"\r\n\r\n" + body)


async def main(seconds: float) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stdin_closed, timeout=seconds)
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    asyncio.run(main(parser.parse_args().seconds))
    os._exit(0)  # the stdin reader thread may still be blocked; nothing is left to flush
