"""In-process audits: load an ASGI or WSGI app from `module:attr` (or a factory `module:make()`) and
tell which framework it is built with. transport/inprocess.py calls it."""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal

from corscheck.errors import UsageError

AppKind = Literal["asgi", "wsgi"]


@dataclass(frozen=True)
class LoadedApp:
    app: Any
    kind: AppKind
    framework: str  # fastapi, litestar, starlette, flask, django, quart or generic


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


def app_of(app: Any) -> LoadedApp:
    """An app object already in hand (the pytest helper's), as load_app would give it."""
    return LoadedApp(app, _kind(app, repr(app)), _framework(app))


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
    # Quart's app class is built on Flask's: Quart is named before Flask.
    for framework in ("fastapi", "litestar", "starlette", "quart", "flask", "django"):
        if framework in names:
            return framework
    return "generic"
