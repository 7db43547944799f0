"""In-process audits: load an ASGI or WSGI app from `module:attr` (or a factory `module:make()`), run
its lifespan, and give the runner an httpx transport that calls it directly: no server, no network."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from corscheck.errors import UsageError
from corscheck.runner import Transport, httpx_transport

AppKind = Literal["asgi", "wsgi"]
DEFAULT_BASE_URL = "http://testserver"


@dataclass(frozen=True)
class LoadedApp:
    app: Any
    kind: AppKind
    framework: str  # fastapi, starlette, flask, django, quart or generic


def load_app(spec: str) -> LoadedApp:
    """The app named by `module:attr` or `module:factory()`. Raises UsageError with one line."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"--app {spec!r} must be module:attribute, e.g. myapi.main:app")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `module` is looked up where the user runs corscheck
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name and module_name.startswith(error.name):
            raise UsageError(f"--app: no module named {module_name!r}") from None
        raise UsageError(f"--app: importing {module_name} failed: {error}") from None
    except Exception as error:
        raise UsageError(
            f"--app: importing {module_name} failed: {type(error).__name__}: {error}"
        ) from None
    factory = attr.endswith("()")
    target: Any = module
    for part in attr.removesuffix("()").split("."):
        if not hasattr(target, part):
            raise UsageError(f"--app: {module_name} has no attribute {attr.removesuffix('()')!r}")
        target = getattr(target, part)
    if factory:
        try:
            target = target()
        except Exception as error:
            raise UsageError(f"--app: {attr} raised {type(error).__name__}: {error}") from None
    return LoadedApp(target, _kind(target, spec), _framework(target))


def _kind(app: Any, spec: str) -> AppKind:
    if not callable(app):
        raise UsageError(f"--app {spec!r} is a {type(app).__name__}, not an ASGI or WSGI app")
    call = app if inspect.isfunction(app) or inspect.ismethod(app) else type(app).__call__
    if inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(app):
        return "asgi"
    try:
        parameters = [p for p in inspect.signature(app).parameters.values() if p.default is p.empty]
    except (TypeError, ValueError):
        parameters = []
    if len(parameters) == 3:
        return "asgi"
    if len(parameters) == 2:
        return "wsgi"
    raise UsageError(
        f"--app {spec!r} is not an ASGI or WSGI app (its call takes {len(parameters)} arguments)"
    )


def _framework(app: Any) -> str:
    names = {cls.__module__.split(".")[0] for cls in type(app).__mro__}
    for framework in ("fastapi", "starlette", "flask", "django", "quart"):
        if framework in names:
            return framework
    return "generic"


@asynccontextmanager
async def app_transport(
    loaded: LoadedApp, base_url: str = DEFAULT_BASE_URL
) -> AsyncIterator[Transport]:
    """A transport into the app, with the ASGI lifespan started before and shut down after."""
    if loaded.kind == "wsgi":
        client = httpx.AsyncClient(transport=_AsyncWSGITransport(loaded.app), base_url=base_url)
        yield httpx_transport(client)
        return
    async with _lifespan(loaded.app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=loaded.app), base_url=base_url)
        yield httpx_transport(client)


class _AsyncWSGITransport(httpx.AsyncBaseTransport):
    """httpx's WSGITransport is synchronous; run it in a thread so the runner's loop keeps going."""

    def __init__(self, app: Any) -> None:
        self._sync = httpx.WSGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(
            request.method, request.url, headers=request.headers, content=body
        )
        response = await asyncio.to_thread(self._sync.handle_request, sync_request)
        content = await asyncio.to_thread(response.read)
        return httpx.Response(response.status_code, headers=response.headers.raw, content=content)


@asynccontextmanager
async def _lifespan(app: Callable[..., Any]) -> AsyncIterator[None]:
    to_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    from_app: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def receive() -> dict[str, Any]:
        return await to_app.get()

    async def send(message: dict[str, Any]) -> None:
        await from_app.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
    task = asyncio.create_task(app(scope, receive, send))
    await to_app.put({"type": "lifespan.startup"})
    message = await _next_message(task, from_app)
    if message is None:
        # The app does not speak lifespan (ASGI: the server then goes on without it).
        yield
        return
    if message["type"] == "lifespan.startup.failed":
        # Starlette sends the whole traceback; its last line names the exception.
        lines = [line for line in str(message.get("message") or "").splitlines() if line.strip()]
        reason = lines[-1].strip() if lines else "startup failed"
        raise UsageError(f"--app: the app failed to start: {reason}")
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        await _next_message(task, from_app)


async def _next_message(
    task: asyncio.Task[Any], messages: asyncio.Queue[dict[str, Any]]
) -> dict[str, Any] | None:
    getter = asyncio.ensure_future(messages.get())
    done, _ = await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
    if getter in done:
        return getter.result()
    getter.cancel()
    if task.exception() is not None and not messages.empty():
        return messages.get_nowait()
    return None


async def audit_app(
    loaded: LoadedApp, targets: Any, *, base_url: str = DEFAULT_BASE_URL, **options: Any
) -> Any:
    """`audit_targets` against the app in-process."""
    from corscheck.audit import audit_targets

    options.setdefault("framework", loaded.framework)
    async with app_transport(loaded, base_url) as transport:
        return await audit_targets(targets, transport=transport, **options)


async def app_get(loaded: LoadedApp, url: str, base_url: str = DEFAULT_BASE_URL) -> httpx.Response:
    """A plain GET of `url` (a path of the app) answered in-process, its lifespan started around it:
    how `--openapi /openapi.json` reads the document of an `--app`."""
    if loaded.kind == "wsgi":
        client = httpx.AsyncClient(transport=_AsyncWSGITransport(loaded.app), base_url=base_url)
        async with client:
            return await client.get(url)
    async with _lifespan(loaded.app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=loaded.app), base_url=base_url)
        async with client:
            return await client.get(url)
