"""The CORS settings an app's code writes, read from the app object (imported, never served):
Starlette/FastAPI CORSMiddleware, Flask-CORS, django-cors-headers, Litestar's CORSConfig and
Quart-CORS. Each entry keeps where it is written: the file and line of the module that holds the
value, found by its text, else the setting's name and module. An app with none of them is one
clear line (UsageError), never a guess.

`read_config_source` reads `--config-from`: `module:app` (as --app names it), or an nginx file.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import sys
import tokenize
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from corscheck.errors import UsageError
from corscheck.nginxconf import read_nginx
from corscheck.witness import UnsupportedRegex, corrected_regex, regex_witnesses
from corscheck.written import Entry, EntryKind, WrittenAllowList


def read_config_source(source: str) -> WrittenAllowList:
    """`--config-from SOURCE`: an nginx file (a path that exists), else `module:app`."""
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise UsageError(f"--config-from {source}: cannot read it: {error.strerror}") from None
        return tried(read_nginx(text, source))
    if ":" not in source:
        raise UsageError(
            f"--config-from {source!r} is neither a file nor module:app (e.g. myapi.main:app)"
        )
    from corscheck.transport.app import load_app

    try:
        loaded = load_app(source)
    except UsageError as error:
        raise UsageError(str(error).replace("--app", "--config-from", 1)) from None
    return read_app_config(loaded.app, loaded.framework, source)


def read_app_config(app: Any, framework: str, source: str) -> WrittenAllowList:
    """The CORS settings of `app` (its framework as transport/app.py names it)."""
    readers = {
        "fastapi": _starlette,
        "starlette": _starlette,
        "flask": _flask,
        "django": _django,
        "litestar": _litestar,
        "quart": _quart,
    }
    reader = readers.get(framework)
    found = reader(app, source) if reader else None
    if found is None:
        raise UsageError(
            f"{source}: no CORS settings found (Starlette/FastAPI CORSMiddleware, Flask-CORS, "
            "django-cors-headers, Litestar CORSConfig or Quart-CORS): nothing to read"
        )
    return tried(found)


# A regex whose witnesses take longer than this to build and check is set aside: Python's re
# backtracks exponentially on some (nested repeats, `([a-z0-9]+[-.]?)*`), and cannot be stopped
# from within the process.
TRY_SECONDS = 3.0


def tried(allow_list: WrittenAllowList) -> WrittenAllowList:
    """`allow_list` with each regex tried first in a child process under a deadline: one that
    does not finish in TRY_SECONDS is set aside (`untried`), with a note, so the audit never hangs
    on it. Where processes cannot be forked, the regexes are kept as they are."""
    import multiprocessing

    if not allow_list.regexes or "fork" not in multiprocessing.get_all_start_methods():
        return allow_list
    regex_witnesses(r"https://a\.example\.com", "match")  # the child starts with the PSL loaded
    context = multiprocessing.get_context("fork")
    slow = []
    for entry in allow_list.regexes:
        child = context.Process(target=_try, args=(entry,), daemon=True)
        child.start()
        child.join(TRY_SECONDS)
        if child.is_alive():
            child.kill()
            child.join()
            slow.append(entry)
    if not slow:
        return allow_list
    notes = [
        f'{e.where}: {e.setting} r"{e.value}" took over {TRY_SECONDS:g} s to try (a regex that '
        "backtracks exponentially): no witness of it is probed, and drift is not judged"
        for e in slow
    ]
    return replace(
        allow_list,
        entries=tuple(e for e in allow_list.entries if e not in slow),
        untried=tuple(slow),
        notes=(*allow_list.notes, *notes),
    )


def _try(entry: Entry) -> None:
    """In the child: what the audit will do with the regex (written.witnesses)."""
    with contextlib.suppress(re.error, UnsupportedRegex):
        corrected_regex(
            entry.value,
            entry.rule,
            regex_witnesses(entry.value, entry.rule, ignore_case=entry.ignore_case),
            ignore_case=entry.ignore_case,
        )


# --- Starlette / FastAPI --------------------------------------------------------------------------


def _starlette(app: Any, source: str) -> WrittenAllowList | None:
    for middleware in getattr(app, "user_middleware", []):
        cls = getattr(middleware, "cls", None)
        if getattr(cls, "__name__", "") != "CORSMiddleware":
            continue
        options: dict[str, Any] = dict(getattr(middleware, "kwargs", {}) or {})
        module = _module_of(app, source)
        entries = _exact_entries(options.get("allow_origins", ()), "allow_origins", module)
        regex = options.get("allow_origin_regex")
        if regex:
            entries.append(
                Entry(
                    "regex",
                    regex,
                    "allow_origin_regex",
                    _where(module, regex, "allow_origin_regex"),
                )
            )
        return WrittenAllowList(
            "starlette",
            source,
            tuple(entries),
            credentials=bool(options.get("allow_credentials", False)),
            methods=tuple(options.get("allow_methods", ("GET",))),
            headers=tuple(options.get("allow_headers", ())),
            expose=tuple(options.get("expose_headers", ())),
            max_age=options.get("max_age", 600),
        )
    return None


# --- Flask-CORS -----------------------------------------------------------------------------------


def _flask(app: Any, source: str) -> WrittenAllowList | None:
    """Flask-CORS: `CORS(app, …)` (its after-request hook holds the resolved options of each
    resource) and `@cross_origin(…)` views (each wrapper holds its own options)."""
    scoped = _flask_resources(app) + _flask_views(app)
    if not scoped:
        return None
    module = _module_of(app, source)
    entries: list[Entry] = []
    for scope, options in scoped:
        if getattr(options, "allow_all_origins", False):
            entries.append(Entry("any", "*", scope, _where(module, '"*"', scope)))
            continue
        for origin in getattr(options, "origins", ()) or ():
            if isinstance(origin, re.Pattern):
                where = _where(module, origin.pattern, scope)
                ignore = bool(origin.flags & re.IGNORECASE)
                entries.append(Entry("regex", origin.pattern, scope, where, "match", ignore))
            else:
                where = _where(module, str(origin), scope)
                entries.append(Entry("exact", str(origin), scope, where, ignore_case=True))
    credentials = any(getattr(o, "supports_credentials", False) for _, o in scoped)
    return WrittenAllowList("flask", source, tuple(dict.fromkeys(entries)), credentials=credentials)


def _flask_resources(app: Any) -> list[tuple[str, Any]]:
    for function in getattr(app, "after_request_funcs", {}).get(None, []):
        if getattr(function, "__name__", "") == "cors_after_request" and function.__closure__:
            resources = function.__closure__[0].cell_contents
            return [
                (
                    "origins"
                    if getattr(path, "pattern", path) in ("/*", ".*")
                    else f"origins of resource {getattr(path, 'pattern', path)}",
                    options,
                )
                for path, options in resources
            ]
    return []


def _flask_views(app: Any) -> list[tuple[str, Any]]:
    try:
        from flask_cors.core import get_cors_options
    except ImportError:
        return []
    views = []
    for name, view in getattr(app, "view_functions", {}).items():
        code = getattr(view, "__code__", None)
        if code is None or not code.co_filename.endswith("decorator.py"):
            continue
        if "flask_cors" not in code.co_filename:
            continue
        given = [
            c.cell_contents for c in view.__closure__ or () if isinstance(c.cell_contents, dict)
        ]
        if given:
            views.append((f"origins of @cross_origin view {name}", get_cors_options(app, given[0])))
    return views


# --- django-cors-headers --------------------------------------------------------------------------


def _django(app: Any, source: str) -> WrittenAllowList | None:
    try:
        from django.conf import settings  # type: ignore[import-untyped]
    except ImportError:
        return None
    if "corsheaders" not in " ".join(getattr(settings, "INSTALLED_APPS", ())):
        return None
    # settings.configure() has no settings module: then the module that holds the app wrote them.
    module = sys.modules.get(getattr(settings, "SETTINGS_MODULE", "") or "") or _module_of(
        app, source
    )
    try:
        # The library's own reading of its settings: a new name, when set, wins even if empty.
        from corsheaders.conf import conf
    except ImportError:
        return None
    entries: list[Entry] = []
    if conf.CORS_ALLOW_ALL_ORIGINS:
        where = _where(module, "CORS_ALLOW_ALL_ORIGINS", "CORS_ALLOW_ALL_ORIGINS")
        entries.append(Entry("any", "*", "CORS_ALLOW_ALL_ORIGINS", where))
    entries += _exact_entries(list(conf.CORS_ALLOWED_ORIGINS), "CORS_ALLOWED_ORIGINS", module)
    for regex in conf.CORS_ALLOWED_ORIGIN_REGEXES:
        text = regex.pattern if isinstance(regex, re.Pattern) else str(regex)
        where = _where(module, text, "CORS_ALLOWED_ORIGIN_REGEXES")
        entries.append(Entry("regex", text, "CORS_ALLOWED_ORIGIN_REGEXES", where, "match"))
    return WrittenAllowList(
        "django", source, tuple(entries), credentials=bool(conf.CORS_ALLOW_CREDENTIALS)
    )


# --- Litestar -------------------------------------------------------------------------------------


def _litestar(app: Any, source: str) -> WrittenAllowList | None:
    config = getattr(app, "cors_config", None)
    if config is None:
        return None
    module = _module_of(app, source)
    entries: list[Entry] = []
    for origin in config.allow_origins:
        where = _where(module, origin, "allow_origins")
        if origin == "*":
            entries.append(Entry("any", "*", "allow_origins", where))
        elif "*" in origin:
            # Litestar's own translation: escaped, each * turned into .*, whole-Origin match.
            pattern = ".*".join(re.escape(part) for part in origin.split("*"))
            entries.append(Entry("regex", pattern, f"allow_origins entry {origin!r}", where))
        else:
            entries.append(Entry("exact", origin, "allow_origins", where))
    if config.allow_origin_regex:
        regex = config.allow_origin_regex
        entries.append(
            Entry("regex", regex, "allow_origin_regex", _where(module, regex, "allow_origin_regex"))
        )
    return WrittenAllowList(
        "litestar",
        source,
        tuple(entries),
        credentials=bool(config.allow_credentials),
        methods=tuple(config.allow_methods),
        headers=tuple(config.allow_headers),
        expose=tuple(config.expose_headers),
        max_age=config.max_age,
    )


# --- Quart-CORS -----------------------------------------------------------------------------------


def _quart(app: Any, source: str) -> WrittenAllowList | None:
    """Quart-CORS: `cors(app, allow_origin=…)` registers an after-request partial holding its
    arguments; what it leaves out comes from app.config, then Quart-CORS's defaults ("*")."""
    hooks = getattr(app, "after_request_funcs", {}).get(None, [])
    found = [
        h for h in hooks if getattr(getattr(h, "func", None), "__name__", "") == "_after_request"
    ]
    if not found:
        return None
    options: dict[str, Any] = dict(found[0].keywords)
    config = getattr(app, "config", {})
    allowed = options.get("allow_origin") or config.get("QUART_CORS_ALLOW_ORIGIN", ["*"])
    module = _module_of(app, source)
    values = [allowed] if isinstance(allowed, str | re.Pattern) else list(allowed)
    entries: list[Entry] = []
    for value in values:
        if isinstance(value, re.Pattern):
            text = value.pattern
            where = _where(module, text, "allow_origin")
            flags = bool(value.flags & re.IGNORECASE)
            entries.append(Entry("regex", text, "allow_origin", where, "match", ignore_case=flags))
        else:
            kind: EntryKind = "any" if value == "*" else "exact"
            entries.append(
                Entry(kind, str(value), "allow_origin", _where(module, str(value), "allow_origin"))
            )
    credentials = options.get("allow_credentials") or config.get(
        "QUART_CORS_ALLOW_CREDENTIALS", False
    )
    return WrittenAllowList("quart", source, tuple(entries), credentials=bool(credentials))


# --- where a value is written ---------------------------------------------------------------------


def _exact_entries(origins: Iterable[str], setting: str, module: Any) -> list[Entry]:
    entries = []
    for origin in origins:
        where = _where(module, origin, setting)
        entries.append(
            Entry("any", "*", setting, where)
            if origin == "*"
            else Entry("exact", origin, setting, where)
        )
    return entries


def _module_of(app: Any, source: str) -> Any:
    """The module that wrote the app's settings: the one `source` (module:app) names when it holds
    the app, else a module whose globals hold it (a factory's caller)."""
    named = sys.modules.get(source.partition(":")[0])
    if named is not None and any(v is app for v in vars(named).values()):
        return named
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if namespace and any(value is app for value in list(namespace.values())):
            return module
    return named


def _where(module: Any, text: str, setting: str) -> str:
    """`file:line` of the first line of `module` holding `text`, else the setting and module."""
    name = getattr(module, "__name__", "the app's module")
    try:
        path = inspect.getsourcefile(module) if module is not None else None
        # In the encoding the module declares (PEP 263), as Python read it.
        with tokenize.open(path) if path else contextlib.nullcontext(io.StringIO()) as source:
            lines = source.read().splitlines()
    except (OSError, TypeError, ValueError, SyntaxError):
        lines = []
    for number, line in enumerate(lines, 1):
        if text in line:
            return f"{_shown_path(path or '')}:{number}"
    return f"{setting} in {name}"


def _shown_path(path: str) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path
