"""What to audit, read from outside: the URLs of the command line and of -i, the policy file (found
and read), the OpenAPI document's routes, the paths of an in-process app, and the baseline report.
The command line and the pytest helper (testing.py) both ask here; config.py then resolves what was
read with the flags into one AuditConfig.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from corscheck.config import AuditConfig, Flags, resolve, resolve_options
from corscheck.errors import PolicyError, UsageError
from corscheck.evaluate import Finding, fingerprint
from corscheck.gate.suppression import Baseline
from corscheck.openapi import document_base, document_routes, load_document
from corscheck.policyfile import PolicyFile, parse_policy_text
from corscheck.report.codec import decode_report
from corscheck.report.model import SCHEMA
from corscheck.target import validate_url
from corscheck.transport.options import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from corscheck.har import HarCalls
    from corscheck.target import Route
    from corscheck.transport.app import LoadedApp
    from corscheck.transport.options import RunOptions
    from corscheck.written import WrittenAllowList

_MAX_POLICY_BYTES = 1024 * 1024  # a policy is a few lines; a megabyte is a mistake, not a policy


@dataclass(frozen=True)
class AuditInputs:
    """Where the targets come from, as the command line gave it."""

    urls: Sequence[str] = ()
    input_file: str | None = None
    openapi_source: str | None = None
    app_spec: str | None = None
    base_url: str | None = None
    policy_path: str | None = None
    baseline_path: str | None = None
    print_policy: bool = False
    config_from: str | None = None  # --config-from: where the allow-list is written
    har_path: str | None = None  # --har: a browser recording of the front-end's calls


@dataclass(frozen=True)
class ResolvedRun:
    """What a run audits: the config, and the in-process app (with its base URL) when there is one."""

    config: AuditConfig
    app: LoadedApp | None = None
    base_url: str = DEFAULT_BASE_URL


def resolve_inputs(given: AuditInputs, flags: Flags) -> ResolvedRun:
    """Reads what the run needs from outside (the app, -i, the policy file, the OpenAPI document,
    the baseline) and resolves it with the flags into one config."""
    loaded = None
    app_base_url = given.base_url or DEFAULT_BASE_URL
    urls = list(given.urls)
    if given.openapi_source is not None and (urls or given.input_file):
        raise UsageError("--openapi takes the place of URLs and -i: give one or the other")
    if given.har_path is not None and (urls or given.input_file or given.openapi_source):
        raise UsageError("--har takes the place of URLs, -i and --openapi: give one or the other")
    if given.app_spec is not None:
        from corscheck.transport.app import load_app

        loaded = load_app(given.app_spec)
        validate_url(app_base_url)
        # Paths (on the command line or in -i) are the app's; "/" when none is given at all.
        if given.openapi_source is None and not given.print_policy:
            urls = [under(app_base_url, p) for p in urls or ([] if given.input_file else ["/"])]
    for url in urls:
        validate_url(url)  # typed on the command line: a usage error; bad -i lines are recorded
    # Printing the policy sends nothing: the secrets it names are not read.
    policy_file = policy_file_at(given.policy_path, read_secrets=not given.print_policy)
    routes = None
    har_notes: list[str] = []
    if given.openapi_source is not None:
        routes = openapi_routes(
            given.openapi_source,
            resolve_options(flags, policy_file),
            app=loaded,
            app_base_url=app_base_url,
            base_url=given.base_url,
        )
    elif given.har_path is not None:
        routes, flags, har_notes = _har_routes(given.har_path, flags, policy_file)
    else:
        urls = read_url_list(urls, given.input_file)
        if loaded is not None:
            urls = [as_socket_if_routed(loaded, under(app_base_url, u)) for u in urls]
    has_targets = urls or routes or (policy_file is not None and policy_file.targets)
    if not has_targets and not given.print_policy:
        raise _no_targets(given.input_file)
    config = resolve(
        flags,
        urls,
        policy_file,
        routes=routes,
        baseline=load_baseline(given.baseline_path) if given.baseline_path is not None else None,
        shown_policy_path=_shown_path(policy_file.path) if policy_file else None,
        routes_source="the HAR recording" if given.har_path else "the OpenAPI document",
    )
    config = replace(config, warnings=(*config.warnings, *har_notes))
    written = _written_allow_list(given, loaded)
    if written is not None:
        from corscheck.written import unreadable_regexes

        config = replace(
            config,
            written=written,
            drift=given.config_from is not None and loaded is None and not written.untried,
            warnings=(*config.warnings, *unreadable_regexes(written), *written.notes),
        )
    return ResolvedRun(config, loaded, app_base_url)


def _written_allow_list(given: AuditInputs, loaded: LoadedApp | None) -> WrittenAllowList | None:
    """--config-from's allow-list (a source it cannot read stops the run: UsageError), else the
    --app's own, where it writes one (an app without CORS settings is audited from outside only)."""
    from corscheck.appconfig import read_app_config, read_config_source

    if given.config_from is not None:
        return read_config_source(given.config_from)
    if loaded is None or given.app_spec is None:
        return None
    try:
        return read_app_config(loaded.app, loaded.framework, given.app_spec)
    except UsageError:
        return None


def _har_routes(
    path: str, flags: Flags, policy_file: PolicyFile | None
) -> tuple[dict[str, Route], Flags, list[str]]:
    """--har: the recorded API URLs as routes (the front-end's methods and headers per URL), the
    flags with the recording's front-end origins as the policy's where neither the flags nor a
    policy file name any, and the recording's notes."""
    from corscheck.target import Route as RouteOf

    calls = read_har(path)
    routes = {
        c.url: RouteOf(
            urlsplit(c.url).path or "/", c.url, tuple(c.methods), tuple(c.headers), c.credentials
        )
        for c in calls.calls
    }
    if not flags.policy.origins and (policy_file is None or policy_file.policy is None):
        flags = replace(flags, policy=replace(flags.policy, origins=tuple(calls.origins)))
    return routes, flags, calls.notes


def read_har(path: str) -> HarCalls:
    """The cross-origin calls of the HAR recording at `path` (har.py). Raises UsageError."""
    from corscheck.har import har_calls

    try:
        with open(path, encoding="utf-8") as stream:
            document = json.load(stream)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UsageError(f"{path} is not JSON: {error}") from None
    return har_calls(document, path)


def under(base_url: str, path_or_url: str) -> str:
    """An --app target: a path joined to the app's base URL; a full URL as it is."""
    if "://" in path_or_url:
        return path_or_url
    return base_url.rstrip("/") + "/" + path_or_url.lstrip("/")


def as_socket_if_routed(loaded: LoadedApp, url: str) -> str:
    """An --app target whose path is one of the app's WebSocket routes (Starlette's and FastAPI's
    WebSocketRoute, Mounts included) as the ws(s):// URL it is; any other URL as it is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not _websocket_route(loaded.app, parts.path or "/"):
        return url
    return urlunsplit(("ws" if parts.scheme == "http" else "wss", *parts[1:]))


def _websocket_route(app: object, path: str, depth: int = 0) -> bool:
    """Whether `path` matches a WebSocket route of `app` (its routes read duck-typed, bounded)."""
    if depth > 8:
        return False
    routes = getattr(app, "routes", None) or getattr(getattr(app, "router", None), "routes", None)
    for route in routes or ():
        kinds = {cls.__name__ for cls in type(route).__mro__}  # FastAPI's APIWebSocketRoute too
        regex = getattr(route, "path_regex", None)
        if "WebSocketRoute" in kinds and regex is not None and regex.match(path):
            return True
        prefix = getattr(route, "path", None)
        if (
            "Mount" in kinds
            and isinstance(prefix, str)
            and path.startswith(prefix)
            and _websocket_route(getattr(route, "app", None), path[len(prefix) :] or "/", depth + 1)
        ):
            return True
    return False


def read_url_list(urls: list[str], input_file: str | None) -> list[str]:
    """URLs from the arguments and -i (one a line, # comments and blanks skipped), duplicates once."""
    collected = list(urls)
    if input_file is not None:
        try:
            if input_file == "-":
                text = sys.stdin.read()
            else:
                data = Path(input_file).read_bytes()
                if b"\0" in data:
                    raise UsageError(f"input file {input_file!r} is binary, not a list of URLs")
                text = data.decode("utf-8")
        except OSError as error:
            raise UsageError(f"cannot read input file {input_file!r}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"input file {input_file!r} is not UTF-8 text") from None
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
            if line:
                collected.append(line)
    return list(dict.fromkeys(collected))


def policy_file_at(path: str | None, read_secrets: bool = True) -> PolicyFile | None:
    """The policy file at `path`, or the one found from the working directory up; None without one."""
    found = Path(path) if path is not None else find_policy_file(Path.cwd())
    return load_policy_file(found, read_secrets=read_secrets) if found else None


def find_policy_file(start: Path) -> Path | None:
    """`corscheck.toml` in `start` or the nearest parent, else the nearest pyproject.toml that has a
    [tool.corscheck] table."""
    for directory in (start, *start.parents):
        candidate = directory / "corscheck.toml"
        if candidate.is_file():
            return candidate
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text("utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            try:
                data = tomllib.loads(text)
            except tomllib.TOMLDecodeError:
                # A pyproject.toml that does not parse but means to configure corscheck is an
                # error to report (with its line), never a silent fall-back to the safe baseline.
                if re.search(r"^\s*\[+\s*tool\.corscheck\b", text, re.MULTILINE):
                    return candidate
                continue
            if isinstance(data.get("tool"), dict) and "corscheck" in data["tool"]:
                return candidate
    return None


def load_policy_file(
    path: Path, environ: Mapping[str, str] | None = None, *, read_secrets: bool = True
) -> PolicyFile:
    """The validated contents of a policy file. Raises PolicyError naming the file and the line.
    Without `read_secrets` (printing the policy, which sends nothing), `env:` references are
    checked but not read: their values are left out."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > _MAX_POLICY_BYTES:
            raise PolicyError(
                f"file is {size // 1024} KiB; a policy file is at most 1 MiB", file=name
            )
        raw = path.read_bytes()
    except OSError as error:
        raise PolicyError(f"cannot read the policy file: {error.strerror}", file=name) from None
    if b"\0" in raw:
        raise PolicyError("binary data, not a TOML policy file", file=name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError("not UTF-8 text", file=name) from None
    return parse_policy_text(name, text, environ, read_secrets=read_secrets)


def _shown_path(path: str) -> str:
    """A policy file's path relative to the working directory when it lies below it, as SARIF viewers
    resolve it against the repository root; absolute otherwise."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return resolved.as_posix()


def _no_targets(input_file: str | None) -> UsageError:
    if input_file is not None:
        name = "stdin" if input_file == "-" else repr(input_file)
        return UsageError(
            f"input file {name} has no URLs (only blank lines and # comments)",
            hint="put one URL a line in it",
        )
    return UsageError(
        "no URL given",
        hint="pass URLs, -i FILE, --openapi SOURCE, or list [[targets]] in a policy file",
    )


def openapi_routes(
    source: str,
    options: RunOptions,
    *,
    app: LoadedApp | None = None,
    app_base_url: str = DEFAULT_BASE_URL,
    base_url: str | None = None,
) -> dict[str, Route]:
    """The routes of the OpenAPI document, by the URL audited. Under `base_url` when given; with an
    app, under the app's base URL (the document's server path kept); else under the document's
    servers, or the URL it was fetched from."""
    document, fetched_from = load_document(
        source, options=options, app=app, app_base_url=app_base_url
    )
    base = base_url
    if base is None:
        base = routes_base(document, fetched_from, app_base_url if app is not None else None)
    if base is None or "://" not in base:
        raise UsageError(
            f"the OpenAPI document {source} names no server URL; give the API's --base-url"
        )
    validate_url(base)
    routes = {route.url: route for route in document_routes(document, base)}
    if not routes:
        raise UsageError(f"the OpenAPI document {source} has no paths with operations")
    return routes


def routes_base(
    document: Mapping[str, Any], fetched_from: str | None, app_base_url: str | None = None
) -> str | None:
    """The URL an OpenAPI document's routes go under: with an app, the app's base URL with the
    document's server path kept; else the document's servers, or the URL it was fetched from."""
    declared = document_base(document, fetched_from)
    if app_base_url is not None:
        return app_base_url.rstrip("/") + (urlsplit(declared or "").path or "")
    return declared


def load_baseline(path: str) -> Baseline:
    """The findings of any corscheck JSON report (merged ones included). Raises UsageError."""

    data = read_report_file(path, "the baseline ")
    try:
        report = decode_report(data)
        found: list[tuple[str, Finding]] = []
        for raw, target in zip(data["targets"], report.targets, strict=True):
            for item, finding in zip(raw["findings"], target.findings, strict=True):
                # The report's own fingerprint when it has one: it was computed by the version that
                # saw the probes. Older reports get one computed from what they kept.
                stored = item.get("fingerprint")
                found.append((stored if isinstance(stored, str) else fingerprint(finding), finding))
    except (KeyError, TypeError, ValueError) as error:
        raise UsageError(f"baseline {path!r} does not follow {SCHEMA}: {error}") from None
    return Baseline(path, tuple(found))


def read_report_file(path: str, label: str = "") -> dict[str, Any]:
    """The JSON document of a corscheck report at `path`, checked for the schema id; `label` names
    the report in errors ("baseline "). Raises UsageError."""
    try:
        data = json.loads(Path(path).read_text("utf-8"))
    except OSError as error:
        raise UsageError(f"cannot read {label}{path!r}: {error.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UsageError(f"{label}{path!r} is not a corscheck JSON report") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise UsageError(f"{label}{path!r} is not a {SCHEMA} report")
    return data
