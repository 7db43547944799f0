"""The network transport against misbehaving loopback servers, and the httpx transport under respx.

Servers are raw asyncio sockets on 127.0.0.1 port 0, run inside each test's event loop and always
closed. Nothing here asserts on time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
import respx

from corscheck.browser import Probe
from corscheck.errors import TargetError
from corscheck.exchange import Request
from corscheck.runner import HostNews, Runner, run_async
from corscheck.transport.httpx_adapter import httpx_transport
from corscheck.transport.options import RunOptions

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[tuple[str, dict[str, int]]]:
    stats = {"connections": 0, "open": 0, "max_open": 0, "bytes_sent": 0}

    async def wrapped(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats["connections"] += 1
        stats["open"] += 1
        stats["max_open"] = max(stats["max_open"], stats["open"])
        try:
            await handler(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            stats["open"] -= 1
            writer.close()

    server = await asyncio.start_server(wrapped, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", stats
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


def answer(head: bytes, body: bytes = b"") -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            writer.write(head + body)
            await writer.drain()

    return handler


def run(coro: Awaitable[object]) -> object:
    async def main() -> object:
        return await coro

    return run_async(main())


OPTIONS = RunOptions(timeout=2.0, retries=0)
GET = "GET"


async def send(base: str, options: RunOptions = OPTIONS, path: str = "/") -> object:
    async with Runner(options) as runner:
        return await runner.send(Request(GET, base + path, (("Origin", "https://a.example"),)))


def test_duplicate_and_odd_header_lines_kept_exactly() -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: https://a.example\r\n"
        b"access-control-allow-origin:https://b.example\r\nX-Odd:  spaced value  \r\n"
        b"Content-Length: 0\r\n\r\n"
    )

    async def main() -> object:
        async with serve(answer(head)) as (base, _):
            return await send(base)

    response = run(main())
    assert response.headers.lines == (  # type: ignore[attr-defined]
        ("Access-Control-Allow-Origin", " https://a.example"),
        ("access-control-allow-origin", "https://b.example"),
        ("X-Odd", "  spaced value  "),
        ("Content-Length", " 0"),
    )


def test_redirects_are_not_followed_by_the_transport() -> None:
    head = b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n"

    async def main() -> object:
        async with serve(answer(head)) as (base, stats):
            response = await send(base)
            return response, stats["connections"]

    response, connections = run(main())  # type: ignore[misc]
    assert response.status == 302
    assert connections == 1


# The server offers this much body; the client must read (and so let the server write) at most the
# socket buffers' worth: the kernel accepts a few MB on loopback (the server's send buffer, shrunk
# here, and the client's receive buffer, tcp_rmem at most 6 MB by default) before a client that
# stopped reading makes the server's writes block or fail.
HUGE_BODY = 64 * 1024 * 1024
BODY_BOUND = 16 * 1024 * 1024


def test_huge_body_is_never_downloaded() -> None:
    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10000000000\r\n\r\n")
        chunk = b"x" * 65536
        # Bounded: stops when the client is gone (a connection error ends the handler), or after
        # HUGE_BODY bytes. Counted once drained: the bytes the kernel took, not those queued.
        while stats["bytes_sent"] < HUGE_BODY:
            writer.write(chunk)
            await writer.drain()
            stats["bytes_sent"] += len(chunk)

    stats = {"bytes_sent": 0}

    async def main() -> object:
        async with serve(endless) as (base, _):
            response = await send(base)
            await asyncio.sleep(0)  # lets the handler see the closed connection
            return response

    response = run(main())
    assert response.status == 200  # type: ignore[attr-defined]
    # The safety promise: the body is never downloaded, only what sits in socket buffers.
    assert stats["bytes_sent"] <= BODY_BOUND, stats["bytes_sent"]


def test_never_answering_server_times_out() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away

    async def main() -> object:
        async with serve(silent) as (base, _):
            return await send(base, RunOptions(timeout=0.2, retries=0))

    with pytest.raises(TargetError) as error:
        run(main())
    assert error.value.kind == "timeout"


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (b"SSH-2.0-OpenSSH_9.0\r\n\r\n", "protocol"),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 200_000 + b"\r\n\r\n", "too-large"),
        (b"HTTP/1.1 200 OK\r\nContent-", "protocol"),
    ],
    ids=["garbage", "oversized-head", "truncated-head"],
)
def test_broken_servers_give_one_error_kind(reply: bytes, kind: str) -> None:
    async def broken(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async def main() -> object:
        async with serve(broken) as (base, _):
            return await send(base)

    with pytest.raises(TargetError) as error:
        run(main())
    assert error.value.kind == kind


def test_refused_port_is_connect_error_after_retries() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TargetError) as error:
        run(send(f"http://127.0.0.1:{port}", RunOptions(retries=1, timeout=2)))
    assert error.value.kind == "connect"


def test_reset_connection_is_retried_but_an_error_status_is_not() -> None:
    attempts = {"reset": 0, "error": 0}

    async def resets_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts["reset"] += 1
        await read_request(reader)
        if attempts["reset"] == 1:
            writer.transport.abort()  # RST before any byte of a response
            return
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async def error_status(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        attempts["error"] += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 500 Oops\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()

    async def main() -> tuple[object, object]:
        async with serve(resets_once) as (a, _), serve(error_status) as (b, _):
            options = RunOptions(retries=2, timeout=2)
            return await send(a, options), await send(b, options)

    reset, error = run(main())  # type: ignore[misc]
    assert reset.status == 204 and attempts["reset"] == 2
    assert error.status == 500 and attempts["error"] == 1


def test_per_host_limit_holds() -> None:
    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            await read_request(reader)
            await asyncio.sleep(0.01)
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()

    async def main() -> int:
        async with serve(slow) as (base, stats):
            async with Runner(RunOptions(per_host=3, concurrency=50)) as runner:
                request = Request(GET, base + "/", ())
                await asyncio.gather(*(runner.send(request) for _ in range(30)))
            return stats["max_open"]

    assert run(main()) <= 3


def test_keep_alive_reuses_connections() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"

    async def main() -> int:
        async with serve(answer(head, b"hello")) as (base, stats):
            async with Runner(RunOptions(per_host=1)) as runner:
                for _ in range(10):
                    await runner.send(Request(GET, base + "/", ()))
            return stats["connections"]

    assert run(main()) == 1


def test_safety_gate_holds_back_unsafe_actual_requests() -> None:
    seen: list[bytes] = []

    async def recorder(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            request = await read_request(reader)
            seen.append(request.split(b" ", 1)[0])
            writer.write(
                b"HTTP/1.1 204 No Content\r\nAccess-Control-Allow-Origin: https://a.example\r\n"
                b"Access-Control-Allow-Methods: DELETE\r\n\r\n"
            )
            await writer.drain()

    async def main(send_unsafe: bool) -> object:
        async with (
            serve(recorder) as (base, _),
            Runner(RunOptions(send_unsafe=send_unsafe)) as runner,
        ):
            return await runner.exchange(Probe(base + "/", "https://a.example", "DELETE"))

    held = run(main(False))
    assert seen == [b"OPTIONS"]
    assert held.unsent is not None and held.unsent.method == "DELETE"  # type: ignore[attr-defined]
    seen.clear()
    sent = run(main(True))
    assert seen == [b"OPTIONS", b"DELETE"]
    assert sent.unsent is None  # type: ignore[attr-defined]


@respx.mock
@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (httpx.ConnectTimeout("slow"), "timeout"),
        (httpx.ReadTimeout("slow"), "timeout"),
        (httpx.ConnectError("refused"), "connect"),
        (httpx.RemoteProtocolError("garbage"), "protocol"),
    ],
    ids=["connect-timeout", "read-timeout", "connect-error", "protocol-error"],
)
def test_httpx_transport_maps_faults(error: Exception, kind: str) -> None:
    respx.get("http://api.example.test/").mock(side_effect=error)

    async def main() -> object:
        transport = httpx_transport(httpx.AsyncClient())
        async with Runner(RunOptions(retries=0), transport) as runner:
            return await runner.send(Request(GET, "http://api.example.test/", ()))

    with pytest.raises(TargetError) as raised:
        run(main())
    assert raised.value.kind == kind


@respx.mock
def test_httpx_transport_keeps_raw_lines() -> None:
    respx.get("http://api.example.test/").mock(
        return_value=httpx.Response(
            200,
            headers=[("Access-Control-Allow-Origin", "a"), ("Access-Control-Allow-Origin", "b")],
        )
    )

    async def main() -> object:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            return await runner.send(Request(GET, "http://api.example.test/", ()))

    response = run(main())
    assert response.headers.get_all("access-control-allow-origin") == ["a", "b"]  # type: ignore[attr-defined]


# --- protocol quirks that browsers survive (issue 13, point 6) -----------------------------------
#
# A response that has no body (to HEAD, or 1xx/204/304) followed by stray bytes: Chromium reads it,
# drops the connection, and answers the next request correctly. The stray bytes come either in the
# same write as the head ("together": the client finds them when it next takes the connection from
# its pool, and opens a new one instead), or only once the next request arrives on that connection
# ("late": they prefix the next response, and the client must retry that request on a new one).

ALLOW = b"Access-Control-Allow-Origin: https://a.example\r\nAccess-Control-Allow-Methods: PUT\r\n"
QUIRKS = {  # (method, path) → the response head, then the bytes a browser ignores after it
    (b"OPTIONS", b"/api"): (b"HTTP/1.1 204 No Content\r\n" + ALLOW + b"\r\n", b"preflight body"),
    (b"HEAD", b"/head"): (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"hello"),
    (b"GET", b"/cached"): (b'HTTP/1.1 304 Not Modified\r\nETag: "1"\r\n\r\n', b"stale body"),
}


def quirky(late: bool, after_stray: list[bytes] | None = None) -> Handler:
    """Answers QUIRKS with stray bytes; records in `after_stray` each request that arrives on a
    connection after stray bytes were sent on it."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stray = b""  # held back for the next response on this connection, when `late`
        strayed = False
        for _ in range(100):  # bounded: far more requests than any test sends on one connection
            try:
                method, path, _ = (await read_request(reader)).split(b" ", 2)
            except asyncio.IncompleteReadError:
                return
            if strayed and after_stray is not None:
                after_stray.append(path)
            response, extra = QUIRKS.get((method, path), (b"", b""))
            if not response:  # an ordinary response, which says which request it answers
                response = b"HTTP/1.1 200 OK\r\n" + ALLOW + b"X-Path: " + path
                response += b"\r\nContent-Length: 2\r\n\r\n" + (b"" if method == b"HEAD" else b"ok")
            if late:
                writer.write(stray + response)
                strayed = strayed or bool(stray)
                stray = extra
            else:
                writer.write(response + extra)
                strayed = strayed or bool(extra)
            await writer.drain()

    return handler


@pytest.mark.parametrize("late", [False, True], ids=["together", "late"])
def test_stray_bytes_after_bodiless_responses_never_break_the_next_request(late: bool) -> None:
    plan = [
        ("OPTIONS", "/api", 204),
        ("GET", "/one", 200),
        ("HEAD", "/head", 200),
        ("GET", "/two", 200),
        ("GET", "/cached", 304),
        ("GET", "/three", 200),
    ]

    after_stray: list[bytes] = []

    async def main() -> tuple[list[object], int]:
        async with serve(quirky(late, after_stray)) as (base, stats):
            async with Runner(RunOptions(per_host=1, retries=0, timeout=2)) as runner:
                responses = [
                    await runner.send(Request(method, base + path, ())) for method, path, _ in plan
                ]
            return responses, stats["connections"]

    responses, connections = run(main())  # type: ignore[misc]
    assert [r.status for r in responses] == [status for _, _, status in plan]
    for (method, path, _), response in zip(plan, responses, strict=True):
        if method == "GET" and path not in ("/cached",):
            assert response.headers.get_all("X-Path") == [f" {path}"]
    assert responses[0].headers.get_all("Access-Control-Allow-Methods") == [" PUT"]
    # Each connection that held stray bytes was dropped, and no request went out on it after
    # them: one more connection per quirk. When the bytes came only with the next response, that
    # request was sent again on a new connection.
    assert connections == 4
    assert after_stray == []


def test_preflight_204_with_a_body_then_the_actual_request() -> None:
    async def main() -> tuple[object, int]:
        async with serve(quirky(late=True)) as (base, stats):
            async with Runner(RunOptions(send_unsafe=True, retries=0, timeout=2)) as runner:
                exchange = await runner.exchange(Probe(base + "/api", "https://a.example", "PUT"))
            return exchange, stats["connections"]

    exchange, connections = run(main())  # type: ignore[misc]
    assert [h.request.method for h in exchange.hops] == ["OPTIONS", "PUT"]  # type: ignore[attr-defined]
    assert [h.response.status for h in exchange.hops] == [204, 200]  # type: ignore[attr-defined]
    assert connections == 2  # the preflight's connection held its stray body: the PUT was resent


OK_204 = b"HTTP/1.1 204 No Content\r\n\r\n"


def first_answered_then(fault: str) -> Handler:
    """Each connection: the first request answered (keep-alive), then `fault` at the next one."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(OK_204)
        await writer.drain()
        if fault == "closes-when-idle":
            return  # the wrapper closes the connection
        await read_request(reader)
        if fault == "resets":
            writer.transport.abort()
        elif fault == "stray-bytes-then-closes":
            writer.write(b"left over")
            await writer.drain()
        elif fault == "half-a-response-then-closes":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-")
            await writer.drain()

    return handler


async def send_twice(handler: Handler) -> tuple[list[object], int]:
    """Two requests on one runner (the second can reuse the first's connection), and how many
    connections the server saw. An error is returned in place of its response."""
    results: list[object] = []
    async with serve(handler) as (base, stats):
        async with Runner(RunOptions(per_host=1, retries=0, timeout=2)) as runner:
            for _ in range(2):
                try:
                    results.append(await runner.send(Request(GET, base + "/", ())))
                except TargetError as error:
                    results.append(error)
        return results, stats["connections"]


@pytest.mark.parametrize(
    "fault",
    ["closes-when-idle", "closes-at-next-request", "resets", "stray-bytes-then-closes"],
)
def test_reused_connection_that_gives_no_response_is_retried_once_on_a_new_one(
    fault: str,
) -> None:
    (first, second), connections = run(send_twice(first_answered_then(fault)))  # type: ignore[misc]
    assert first.status == 204
    assert not isinstance(second, TargetError), second
    assert second.status == 204
    assert connections == 2


def test_no_retry_once_a_response_began_on_a_reused_connection() -> None:
    (first, second), connections = run(  # type: ignore[misc]
        send_twice(first_answered_then("half-a-response-then-closes"))
    )
    assert first.status == 204
    assert isinstance(second, TargetError) and second.kind == "protocol"
    assert connections == 1


def test_a_retry_is_never_retried() -> None:
    answered = {"count": 0}

    async def answers_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)  # every later request: closed without an answer
        if answered["count"] == 0:
            answered["count"] += 1
            writer.write(OK_204)
            await writer.drain()
            await read_request(reader)

    (first, second), connections = run(send_twice(answers_once))  # type: ignore[misc]
    assert first.status == 204
    assert isinstance(second, TargetError) and second.kind == "connect"
    assert connections == 2  # the reused one, then one new one: never a third


@pytest.mark.parametrize(
    ("reply", "kind"),
    [(b"", "connect"), (b"left over", "protocol"), (b"okHTTP/1.1 204 OK\r\n\r\n", "protocol")],
    ids=["closes", "stray-bytes-then-closes", "stray-bytes-then-a-response"],
)
def test_a_new_connection_that_fails_is_not_retried(reply: bytes, kind: str) -> None:
    async def fails(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(reply)
        await writer.drain()

    async def main() -> tuple[object, int]:
        async with serve(fails) as (base, stats):
            try:
                await send(base)
            except TargetError as error:
                return error, stats["connections"]
            raise AssertionError("no error")

    error, connections = run(main())  # type: ignore[misc]
    assert error.kind == kind  # type: ignore[attr-defined]
    assert connections == 1


def test_holds_nothing_tells_an_idle_stream_from_one_with_bytes_or_its_end() -> None:
    from corscheck.transport.http11 import _holds_nothing

    async def main() -> list[bool]:
        seen = []
        idle = asyncio.StreamReader()
        seen.append(_holds_nothing(idle))
        seen.append(_holds_nothing(idle))  # asking twice leaves no waiter behind
        idle.feed_data(b"x")
        seen.append(_holds_nothing(idle))
        ended = asyncio.StreamReader()
        ended.feed_eof()
        seen.append(_holds_nothing(ended))
        failed = asyncio.StreamReader()
        failed.set_exception(ConnectionResetError())
        seen.append(_holds_nothing(failed))
        return seen

    assert asyncio.run(main()) == [True, True, False, False, False]
    assert run(main()) == [True, True, False, False, False]  # and on uvloop, when installed


@pytest.mark.parametrize(
    ("lines", "data", "body"),
    [
        ((("Transfer-Encoding", "chunked"),), b"3;x=1\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", b"abcde"),
        ((("Content-Length", "4"),), b"wxyz-more", b"wxyz"),
        ((), b"until the end", b"until the end"),
    ],
    ids=["chunked", "content-length", "until-close"],
)
def test_a_documents_body_is_read_whole_within_its_limit(
    lines: tuple[tuple[str, str], ...], data: bytes, body: bytes
) -> None:
    import asyncio

    from corscheck.headers import HeaderList
    from corscheck.transport.http11 import _read_body

    async def read(limit: int) -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        return await _read_body(reader, HeaderList(lines), limit)

    assert asyncio.run(read(64)) == body
    with pytest.raises(TargetError) as raised:
        asyncio.run(read(len(body) - 1))
    assert raised.value.kind == "too-large"


# --- a server protecting itself is not judged (issue 24, rate limiting) ----------------------------


@respx.mock
@pytest.mark.parametrize(
    ("limited", "retry_after"),
    [(429, None), (429, "0"), (503, "0")],
    ids=["429", "429-retry-after", "503-retry-after"],
)
def test_a_rate_limited_answer_is_retried_then_judged_as_the_server_answers(
    limited: int, retry_after: str | None
) -> None:
    headers = [("Retry-After", retry_after)] if retry_after is not None else []
    route = respx.get("http://api.example.test/").mock(
        side_effect=[httpx.Response(limited, headers=headers), httpx.Response(200)]
    )

    async def main() -> object:
        async with Runner(RunOptions(retries=2), httpx_transport(httpx.AsyncClient())) as runner:
            return await runner.send(Request(GET, "http://api.example.test/", ()))

    assert run(main()).status == 200  # type: ignore[attr-defined]
    assert route.call_count == 2


@respx.mock
def test_a_server_that_keeps_rate_limiting_is_a_target_error_never_a_verdict() -> None:
    respx.get("http://api.example.test/").mock(
        return_value=httpx.Response(429, headers=[("Retry-After", "0")])
    )

    async def main() -> object:
        async with Runner(RunOptions(retries=1), httpx_transport(httpx.AsyncClient())) as runner:
            return await runner.send(Request(GET, "http://api.example.test/", ()))

    with pytest.raises(TargetError) as raised:
        run(main())
    assert raised.value.kind == "rate-limited" and "--rate" in str(raised.value)


@respx.mock
def test_a_503_without_retry_after_is_the_servers_answer() -> None:
    """A plain 503 is judged like any answer (a dead upstream is the deployment's CORS story)."""
    respx.get("http://api.example.test/").mock(return_value=httpx.Response(503))

    async def main() -> object:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            return await runner.send(Request(GET, "http://api.example.test/", ()))

    assert run(main()).status == 503  # type: ignore[attr-defined]


@respx.mock
def test_a_plain_503_after_earlier_answers_is_rate_limiting_and_slows_the_host_down() -> None:
    """nginx's limit_req answers 503 without Retry-After: once the host has answered otherwise,
    a 503 is the server protecting itself, retried at a slower pace and counted for the report."""
    route = respx.get("http://api.example.test/").mock(
        side_effect=[httpx.Response(200), httpx.Response(503), httpx.Response(200)]
    )

    async def main() -> tuple[int, int, object]:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            await runner.send(Request(GET, "http://api.example.test/", ()))
            second = await runner.send(Request(GET, "http://api.example.test/", ()))
            return second.status, route.call_count, runner.rate_limits("http://api.example.test/x")

    status, calls, limits = run(main())
    assert (status, calls) == (200, 3)
    assert limits == (1, 5.0)


@respx.mock
def test_a_slowed_host_halves_its_pace_again_only_for_requests_sent_at_the_new_pace() -> None:
    respx.get("http://api.example.test/").mock(
        side_effect=[httpx.Response(429), httpx.Response(429), httpx.Response(200)]
    )

    async def main() -> object:
        options = RunOptions(rate=40.0)
        async with Runner(options, httpx_transport(httpx.AsyncClient())) as runner:
            await runner.send(Request(GET, "http://api.example.test/", ()))
            return runner.rate_limits("http://api.example.test/")

    assert run(main()) == (2, 10.0)  # 40/s → 20/s → 10/s: each retry was sent at the new pace


# --- what worker processes tell each other of a host (runner/workers.py) --------------------------


@respx.mock
def test_a_runner_tells_once_that_a_host_answers_and_each_pace_it_slows_a_host_to() -> None:
    respx.get("http://api.example.test/").mock(
        side_effect=[httpx.Response(200), httpx.Response(429), httpx.Response(200)]
    )
    told: list[HostNews] = []

    async def main() -> None:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            runner.share_hosts(2, told.append)
            for _ in range(2):
                await runner.send(Request(GET, "http://api.example.test/", ()))

    run(main())
    assert told == [HostNews("http://api.example.test"), HostNews("http://api.example.test", 5.0)]


@respx.mock
def test_a_host_another_process_saw_answer_is_known_to_answer() -> None:
    """A plain 503 at this process's first contact is rate limiting, as it would be in one
    process once the host has answered there."""
    route = respx.get("http://api.example.test/").mock(
        side_effect=[httpx.Response(503), httpx.Response(200)]
    )

    async def main() -> int:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            runner.hear(HostNews("http://api.example.test"))
            return (await runner.send(Request(GET, "http://api.example.test/", ()))).status

    assert run(main()) == 200 and route.call_count == 2


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_a_slowed_hosts_pace_is_the_hosts_each_process_keeping_its_part(processes: int) -> None:
    """Heard or its own, a host's pace is reported as the host's; each of the processes that send
    to it keeps its part, so together they never exceed it. Never a faster one than it had."""
    host = "http://api.example.test"

    async def main() -> list[tuple[float | None, float]]:
        async with Runner(RunOptions(), httpx_transport(httpx.AsyncClient())) as runner:
            runner.share_hosts(processes, lambda news: None)
            paces = []
            for pace in (2.5, 5.0, 1.25):
                runner.hear(HostNews(host, pace))
                paces.append((runner.rate_limits(host).slowed_to, runner._buckets[host][0].rate))
            runner._slow_down(host)  # a limit met here: half the host's pace, not of its part
            paces.append((runner.rate_limits(host).slowed_to, runner._buckets[host][0].rate))
            return paces

    shares = [pace / processes for pace in (2.5, 2.5, 1.25, 0.625)]
    assert run(main()) == list(zip([2.5, 2.5, 1.25, 0.625], shares, strict=True))


@pytest.mark.parametrize(
    "news",
    [
        HostNews("http://api.example.test"),
        HostNews("https://[::1]:8443", 0.5),
        HostNews("http://127.0.0.1:8080", 1 / 3),
    ],
)
def test_host_news_travels_as_one_line(news: HostNews) -> None:
    assert "\n" not in news.line() and HostNews.read(news.line()) == news
