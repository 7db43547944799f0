"""The command line. Thin: parse options → build targets and policy → run → render → exit code.

Exit codes: 0 no finding at or above --fail-on; 1 findings at or above it; 2 usage, policy-file or
input error; 3 a target could not be audited (and no finding reached the threshold).
"""

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from corscheck import __version__
from corscheck.errors import CorscheckError, PolicyError, TargetError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    from corscheck.app import LoadedApp
    from corscheck.audit import Target
    from corscheck.gate import Gate
    from corscheck.openapi import Route
    from corscheck.plan import Depth as PlanDepth
    from corscheck.policy import Policy
    from corscheck.policyfile import PolicyFile
    from corscheck.probe import ProbeReport
    from corscheck.report.model import Report, ReportSink, SourceLocation
    from corscheck.runner import RunOptions, Transport

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_TARGET = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a SIGINT
EXIT_BROKEN_PIPE = 141  # stdout closed early, as shells report a SIGPIPE

app = typer.Typer(
    name="corscheck",
    help="Audit an API's CORS behaviour exactly as Chromium judges it, against the policy you meant.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 80},
)


class Depth(StrEnum):
    quick = "quick"
    standard = "standard"
    thorough = "thorough"


class FailOn(StrEnum):
    critical = "critical"
    high = "high"
    medium = "medium"
    low = "low"
    never = "never"


class Framework(StrEnum):
    fastapi = "fastapi"
    starlette = "starlette"
    flask = "flask"
    django = "django"
    express = "express"
    spring = "spring"
    nginx = "nginx"
    generic = "generic"


class ProbeFormat(StrEnum):
    console = "console"
    json = "json"


# The network options `audit` and `probe` share, defined once so the two cannot drift.
HeaderOption = Annotated[
    list[str] | None,
    typer.Option(
        "-H",
        "--header",
        help="'Name: value' (repeat): audit sends it with every request, probe as a fetch() "
        "header; secrets are masked in output.",
    ),
]
TimeoutOption = Annotated[float, typer.Option(help="Seconds per request.", min=0.01, max=600)]
InsecureOption = Annotated[bool, typer.Option("--insecure", help="Do not verify TLS certificates.")]
ProxyOption = Annotated[
    str | None,
    typer.Option(
        "--proxy",
        help="HTTP proxy for every target, http://[user:password@]host:port (default: "
        "HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).",
        show_default=False,
    ),
]
NoProxyOption = Annotated[
    bool,
    typer.Option("--no-proxy", help="Connect directly; ignore the proxy environment variables."),
]
AppOption = Annotated[
    str | None,
    typer.Option(
        "--app",
        help="Send to an ASGI/WSGI app in-process (module:attr); URLs (and -i lines) are paths.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        help="Where the --app thinks it is served (http://testserver); with --openapi, the API's "
        "base URL instead of the document's servers.",
        show_default=False,
    ),
]


def _checked_proxy(proxy: str | None, no_proxy: bool) -> tuple[str | None, bool]:
    """`--proxy` and `--no-proxy` as RunOptions takes them (proxy, trust_env), checked with the
    environment's proxies before any output begins: a proxy corscheck cannot speak to is a usage
    error, never a half-written report."""
    from corscheck.proxy import proxy_routes

    if proxy is not None and no_proxy:
        raise UsageError("--proxy and --no-proxy contradict each other; give one")
    proxy_routes(proxy, use_environment=not no_proxy, environ=os.environ)
    return proxy, not no_proxy


def _internal_error(error: Exception) -> NoReturn:
    """A bug: one line that asks for CORSCHECK_DEBUG=1, or the traceback when it is set."""
    if os.environ.get("CORSCHECK_DEBUG"):
        raise error
    typer.echo(
        f"corscheck: internal error: {type(error).__name__}: {error} "
        "(set CORSCHECK_DEBUG=1 for details and please report it)",
        err=True,
    )
    raise typer.Exit(EXIT_USAGE)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"corscheck {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """corscheck: what a browser lets other origins do with your API, and is that what you meant."""


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    from corscheck.headers import mask_userinfo

    # Whatever raised it, an error line never shows a URL's userinfo (a proxy's password, say).
    typer.echo(f"corscheck: error: {mask_userinfo(message)}", err=True)
    raise typer.Exit(code)


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _parse_header(text: str) -> tuple[str, str]:
    from corscheck.policy import validate_header_name

    name, sep, value = text.partition(":")
    if not sep:
        raise UsageError(f"header {text!r} has no colon; write -H 'Name: value'")
    name = name.strip()
    try:
        validate_header_name(name)
    except PolicyError:
        raise UsageError(f"header {text!r}: {name!r} is not a valid header name") from None
    if any(c in value for c in "\r\n\0"):
        raise UsageError(f"header {name!r}: the value contains a line break or NUL byte")
    return name, value.strip()


def _parse_rate(text: str | None) -> float | None:
    if text is None:
        return None
    number = text.strip().removesuffix("/s")
    try:
        rate = float(number)
    except ValueError:
        raise UsageError(
            f"--rate {text!r} is not a number of requests per second (e.g. 20/s)"
        ) from None
    if not rate > 0 or rate == float("inf"):
        raise UsageError(f"--rate must be above 0, got {text!r}")
    return rate


def _under(base_url: str, path_or_url: str) -> str:
    """An --app target: a path joined to the app's base URL; a full URL as it is."""
    if "://" in path_or_url:
        return path_or_url
    return base_url.rstrip("/") + "/" + path_or_url.lstrip("/")


def _read_inputs(urls: list[str], input_file: str | None) -> list[str]:
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


def _flag_overrides(
    origins: list[str],
    methods: list[str],
    headers: list[str],
    expose: list[str],
    credentials: bool | None,
    max_age: int | None,
) -> dict[str, object]:
    """The policy fields given on the command line; they override the policy file's."""
    from corscheck.policy import MaxAge

    given: dict[str, object] = {
        "origins": origins,
        "methods": methods,
        "headers": headers,
        "expose": expose,
    }
    overrides = {key: value for key, value in given.items() if value}
    if credentials is not None:
        overrides["credentials"] = credentials
    if max_age is not None:
        overrides["max_age"] = MaxAge(max=max_age)
    return overrides


def _effective_policy(base: "Policy | None", overrides: dict[str, object]) -> "Policy | None":
    """The policy file's policy with the command line's fields on top; None for the safe baseline."""
    from corscheck.policy import build_policy

    if base is None and not overrides:
        return None
    fields: dict[str, object] = (
        {
            "origins": base.origins,
            "methods": base.methods,
            "headers": base.headers,
            "expose": base.expose,
            "credentials": base.credentials,
            "max_age": base.max_age,
            "private_network": base.private_network,
        }
        if base
        else {}
    )
    fields.update(overrides)
    if not fields.get("origins"):
        raise UsageError("a policy needs at least one --allow-origin (use '*' for a public API)")
    return build_policy(**fields)  # type: ignore[arg-type]


def _find_policy_file(path: str | None) -> "PolicyFile | None":
    from corscheck.policyfile import find_policy_file, load_policy_file

    if path is not None:
        return load_policy_file(Path(path))
    found = find_policy_file(Path.cwd())
    return load_policy_file(found) if found else None


def _print_policies(policies: "dict[str, Policy | None]", source: str | None) -> None:
    import json

    from corscheck.headers import mask_url

    typer.echo(f"# policy file: {source or 'none'}; command-line flags override it")
    for url, policy in policies.items():
        shown = policy.to_dict() if policy else "safe baseline (no policy)"
        typer.echo(f"{mask_url(url)}\n  {json.dumps(shown)}")


def _exit_code(report: "Report") -> int:
    if any(e.kind == "input" for t in report.targets for e in t.errors):
        return EXIT_USAGE
    if report.reaches(report.fail_on):
        return EXIT_FINDINGS
    # A partial report (a merged .partial file) did not audit every target: never a clean exit.
    return EXIT_TARGET if report.error_count or report.partial else EXIT_OK


def _write_outputs(report: "Report", outputs: list[str]) -> None:
    from corscheck.report import format_for_path, renderer

    rendered = []
    for path in outputs:
        rendered.append((path, renderer(format_for_path(path))(report)))
    for path, text in rendered:
        try:
            Path(path).write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


@contextmanager
def _json_streams(
    to_stdout: bool, paths: list[str], target_count: int
) -> "Iterator[list[ReportSink]]":
    """The run's JSON reports, written as its targets finish: to stdout for --format json and to each
    -o *.json path. A file is written as PATH.partial and renamed when complete, so an interrupted
    run leaves its partial report under a name that says so, never a truncated PATH."""
    from corscheck.report.json import JsonStream, indented

    indent = indented(target_count)
    streams: list[ReportSink] = []
    partials: list[tuple[Path, str]] = []
    with ExitStack() as files:
        for path in paths:
            partial = Path(path + ".partial")
            try:
                handle = files.enter_context(partial.open("w", encoding="utf-8"))
            except OSError as error:
                raise UsageError(f"cannot write {path!r}: {error.strerror}") from None
            partials.append((partial, path))
            streams.append(JsonStream(handle, indent=indent))
        if to_stdout:
            streams.append(JsonStream(sys.stdout, indent=indent))
        yield streams
    for partial, path in partials:
        try:
            partial.replace(path)
        except OSError as error:
            raise UsageError(f"cannot write {path!r}: {error.strerror}") from None


def _print_report(report: "Report", fmt: str, verbose: bool) -> None:
    if fmt == "console":
        from corscheck.report import console

        typer.echo(
            console.render(report, color=_color(), verbose=verbose, width=_width()), nl=False
        )
    else:
        from corscheck.report import renderer

        typer.echo(renderer(fmt)(report), nl=False)


def _width() -> int:
    try:
        return max(80, min(os.get_terminal_size().columns, 140))
    except OSError:
        return 100


@app.command()
def audit(
    urls: Annotated[
        list[str] | None, typer.Argument(help="URLs to audit.", show_default=False)
    ] = None,
    input_file: Annotated[
        str | None, typer.Option("-i", "--input", help="File of URLs, one a line ('-' for stdin).")
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin", help="An origin the policy allows (repeat; '*' for public)."
        ),
    ] = None,
    allow_method: Annotated[
        list[str] | None,
        typer.Option("--allow-method", help="A method the policy allows (repeat)."),
    ] = None,
    allow_header: Annotated[
        list[str] | None,
        typer.Option("--allow-header", help="A request header the policy allows (repeat)."),
    ] = None,
    expose_header: Annotated[
        list[str] | None,
        typer.Option("--expose-header", help="A response header the page must read (repeat)."),
    ] = None,
    credentials: Annotated[
        bool | None,
        typer.Option(
            "--credentials/--no-credentials",
            help="Whether allowed origins send cookies/HTTP auth.",
            show_default=False,
        ),
    ] = None,
    max_age: Annotated[
        int | None,
        typer.Option("--max-age", help="Largest acceptable Access-Control-Max-Age (s).", min=0),
    ] = None,
    header: HeaderOption = None,
    depth: Annotated[Depth, typer.Option(help="Coverage against requests sent.")] = Depth.standard,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            help="stdout: console, json, sarif, junit, markdown, github or html "
            "(in GitHub Actions the console report comes with annotations).",
        ),
    ] = "console",
    output: Annotated[
        list[str] | None,
        typer.Option(
            "-o", "--output", help="Also write a report; format from the extension (repeat)."
        ),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Lowest severity that makes the exit code 1.")
    ] = FailOn.medium,
    concurrency: Annotated[
        int, typer.Option(help="Requests in flight in total.", min=1, max=10000)
    ] = 64,
    per_host: Annotated[
        int, typer.Option("--per-host", help="Requests in flight per host.", min=1)
    ] = 16,
    rate: Annotated[
        str | None, typer.Option("--rate", help="Max requests per second per host, e.g. 20/s.")
    ] = None,
    timeout: TimeoutOption = 10.0,
    send_unsafe: Annotated[
        bool, typer.Option("--send-unsafe", help="Also send unsafe actual requests (POST, PUT, …).")
    ] = False,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Show the request count and the probe grid.")
    ] = False,
    policy_path: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--policy",
            help="Policy file (default: corscheck.toml here or above, or [tool.corscheck]).",
        ),
    ] = None,
    print_policy: Annotated[
        bool, typer.Option("--print-policy", help="Print the effective policy per target and exit.")
    ] = False,
    shard_spec: Annotated[
        str | None,
        typer.Option(
            "--shard", help="Audit share K of N of the targets (CI matrix jobs), e.g. 2/4."
        ),
    ] = None,
    app_spec: AppOption = None,
    base_url: BaseUrlOption = None,
    framework: Annotated[
        Framework | None,
        typer.Option("--framework", help="Word fixes for this framework (default: detected)."),
    ] = None,
    ignore_rule: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            help="Accept a rule's findings for this run (repeat); for good, add an [[ignore]] "
            "with a reason to the policy file.",
        ),
    ] = None,
    baseline_path: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="A JSON report of an earlier run: findings are marked new or unchanged, and "
            "--fail-on counts only new ones.",
        ),
    ] = None,
    openapi_source: Annotated[
        str | None,
        typer.Option(
            "--openapi",
            help="Audit every route of an OpenAPI document: a URL, a JSON/YAML file, or with "
            "--app the path the app serves it at (/openapi.json).",
        ),
    ] = None,
) -> None:
    """Audit URLs: probe them as browsers would and report findings."""
    json_paths: list[str] = []
    try:
        from corscheck.audit import Target, validate_url
        from corscheck.runner import RunOptions

        proxy, trust_env = _checked_proxy(proxy, no_proxy)
        loaded = None
        openapi_base = base_url
        base_url = base_url or "http://testserver"
        if openapi_source is not None and (urls or input_file):
            raise UsageError("--openapi takes the place of URLs and -i: give one or the other")
        if app_spec is not None:
            from corscheck.app import load_app

            loaded = load_app(app_spec)
            validate_url(base_url)
            # Paths (on the command line or in -i) are the app's; "/" when none is given at all.
            if openapi_source is None:
                urls = [_under(base_url, p) for p in urls or ([] if input_file else ["/"])]
        for url in urls or []:
            validate_url(url)  # typed on the command line: a usage error; bad -i lines are recorded
        flags = _flag_overrides(
            list(allow_origin or []),
            list(allow_method or []),
            list(allow_header or []),
            list(expose_header or []),
            credentials,
            max_age,
        )
        policy_file = _find_policy_file(policy_path)
        settings = dict(policy_file.settings) if policy_file else {}
        top = _effective_policy(policy_file.policy if policy_file else None, flags)
        per_url = {t.url: t.policy for t in policy_file.targets} if policy_file else {}
        routes = {}
        if openapi_source is not None:
            routes = _openapi_routes(
                openapi_source, loaded, base_url, openapi_base, timeout, insecure
            )
            per_url = {}
            targets_urls = list(routes)
        else:
            targets_urls = _read_inputs(list(urls or []), input_file) or list(per_url)
        if loaded is not None and openapi_source is None:
            targets_urls = [_under(base_url, u) for u in targets_urls]
        if not targets_urls:
            raise UsageError("no URL given; pass URLs, -i FILE, or [[targets]] in a policy file")
        if shard_spec is not None:
            from corscheck.shard import parse_shard, shard

            # An empty share is fine: its report has no targets, and merge joins it like the others.
            targets_urls = shard(targets_urls, *parse_shard(shard_spec))
        policies = {
            url: _effective_policy(per_url[url], flags) if url in per_url else top
            for url in targets_urls
        }
        if routes and top is not None:
            from corscheck.openapi import route_policy

            # The policy says which origins and whether credentials; each route, which methods and
            # headers its calls need.
            policies = {url: route_policy(top, routes[url]) for url in targets_urls}
        if print_policy:
            _print_policies(policies, policy_file.path if policy_file else None)
            raise typer.Exit(EXIT_OK)
        depth = Depth(settings.get("depth", depth)) if depth is Depth.standard else depth
        fail_on = FailOn(settings.get("fail-on", fail_on)) if fail_on is FailOn.medium else fail_on
        concurrency = settings.get("concurrency", concurrency) if concurrency == 64 else concurrency
        per_host = settings.get("per-host", per_host) if per_host == 16 else per_host
        timeout = settings.get("timeout", timeout) if timeout == 10.0 else timeout
        if rate is None and "rate" in settings:
            rate = str(settings["rate"])
        extra = tuple(settings.get("headers", ())) + tuple(_parse_header(h) for h in header or [])
        if fmt not in ("console", "json"):
            from corscheck.report import renderer

            renderer(fmt)  # raises the usage error for an unknown format
        from corscheck.report import format_for_path
        from corscheck.report.model import LARGE_RUN

        output_formats = {path: format_for_path(path) for path in output or []}
        options = RunOptions(
            concurrency=concurrency,
            per_host=per_host,
            timeout=timeout,
            rate=_parse_rate(rate),
            send_unsafe=send_unsafe,
            insecure=insecure,
            proxy=proxy,
            trust_env=trust_env,
        )
        sources = _target_sources(policy_file, targets_urls)
        targets = [
            Target(url, policies[url], sources.get(url), routes.get(url)) for url in targets_urls
        ]
        gate = _gate(policy_file, list(ignore_rule or []), baseline_path)
        json_paths = [path for path, kind in output_formats.items() if kind == "json"]
        other_paths = [path for path, kind in output_formats.items() if kind != "json"]
        with _json_streams(fmt == "json", json_paths, len(targets)) as sinks:
            report = _run_audit(
                loaded,
                base_url,
                targets,
                depth.value,
                fail_on.value,
                options,
                extra,
                verbose,
                tuple(dict.fromkeys(w for p in policies.values() if p for w in p.warnings)),
                framework.value if framework else None,
                sinks,
                # Past a screenful of targets the reports summarize: the probes are written to the
                # JSON as each target finishes and dropped, so memory stays flat.
                keep_probes=len(targets) <= LARGE_RUN
                or verbose
                or "html" in (fmt, *output_formats.values()),
                gate=gate,
            )
        _write_outputs(report, other_paths)
        if fmt != "json":
            _print_report(report, fmt, verbose)
        _github_extras(report, annotate=fmt == "console")
    except CorscheckError as error:
        _fail(str(error), EXIT_TARGET if isinstance(error, TargetError) else EXIT_USAGE)
    except KeyboardInterrupt:
        kept = "".join(f"; the targets done so far are in {p}.partial" for p in json_paths)
        _fail(f"interrupted{kept}", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of stdout left (`| head`): stop quietly, as a tool killed by SIGPIPE does, and
        # keep Python's exit-time flush from failing on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        _internal_error(error)
    raise typer.Exit(_exit_code(report))


def _openapi_routes(
    source: str,
    loaded: "LoadedApp | None",
    app_base_url: str,
    base_url: str | None,
    timeout: float,
    insecure: bool,
) -> "dict[str, Route]":
    """The routes of the OpenAPI document, by the URL audited. Under --base-url when given; with
    --app, under the app's base URL (the document's server path kept); else under the document's
    servers, or the URL it was fetched from."""
    from urllib.parse import urlsplit

    from corscheck.audit import validate_url
    from corscheck.openapi import document_base, document_routes, load_document

    document, fetched_from = load_document(
        source, app=loaded, app_base_url=app_base_url, timeout=timeout, insecure=insecure
    )
    base = base_url
    if base is None:
        declared = document_base(document, fetched_from)
        if loaded is not None:
            base = app_base_url.rstrip("/") + (urlsplit(declared or "").path or "")
        else:
            base = declared
    if base is None or "://" not in base:
        raise UsageError(
            f"the OpenAPI document {source} names no server URL; give the API's --base-url"
        )
    validate_url(base)
    routes = {route.url: route for route in document_routes(document, base)}
    if not routes:
        raise UsageError(f"the OpenAPI document {source} has no paths with operations")
    return routes


def _gate(
    policy_file: "PolicyFile | None", ignore_rules: list[str], baseline_path: str | None
) -> "Gate | None":
    """The run's suppressions and baseline, or None when it has neither."""
    from datetime import date

    from corscheck.gate import Gate, Ignore, load_baseline, validate_ignore_rule

    ignores = list(policy_file.ignores if policy_file else ())
    ignores += [
        Ignore(validate_ignore_rule(rule), "ignored on the command line", "--ignore")
        for rule in dict.fromkeys(ignore_rules)
    ]
    baseline = load_baseline(baseline_path) if baseline_path is not None else None
    if not ignores and baseline is None:
        return None
    return Gate(ignores, baseline, today=date.today())


def _target_sources(
    policy_file: "PolicyFile | None", urls: list[str]
) -> "dict[str, SourceLocation]":
    """Where the policy file declares each target: its [[targets]] entry, else the [policy] table that
    applies to it. The path is relative to the working directory when it lies below it, as SARIF
    viewers resolve it against the repository root."""
    from corscheck.report.model import SourceLocation

    if policy_file is None:
        return {}
    path = Path(policy_file.path)
    try:
        shown = path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = path.resolve().as_posix()
    lines = {t.url: t.line for t in policy_file.targets}
    sources = {}
    for url in urls:
        line = lines.get(url, policy_file.policy_line if policy_file.policy else None)
        if line:  # 1-based; a line the file does not show is no location
            sources[url] = SourceLocation(shown, line)
    return sources


def _github_extras(report: "Report", annotate: bool) -> None:
    """In GitHub Actions: annotations beside the console report, and the step summary in Markdown."""
    if os.environ.get("GITHUB_ACTIONS") == "true" and annotate:
        from corscheck.report import github

        typer.echo(github.render(report), nl=False)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        from corscheck.report import markdown

        try:
            with open(summary, "a", encoding="utf-8") as handle:
                handle.write(markdown.render(report))
        except OSError as error:
            typer.echo(
                f"corscheck: warning: cannot append to GITHUB_STEP_SUMMARY: {error}", err=True
            )


def _run_audit(
    loaded: "LoadedApp | None",
    base_url: str,
    targets: "list[Target]",
    depth: "PlanDepth",
    fail_on: str,
    options: "RunOptions",
    extra: tuple[tuple[str, str], ...],
    verbose: bool,
    warnings: tuple[str, ...],
    framework: str | None,
    sinks: "list[ReportSink]",
    keep_probes: bool,
    gate: "Gate | None" = None,
) -> "Report":
    from corscheck.audit import audit_targets
    from corscheck.plan import distinct_chains, estimated_requests, plan_target
    from corscheck.runner import run_async

    # An audit allocates millions of short-lived objects that hold no cycles (header lines, verdicts,
    # report dicts); at the default thresholds the cycle collector rescans the survivors hundreds of
    # times and takes about a tenth of the run, and collects next to nothing. Less often, it costs
    # nearly nothing (benchmarks/README.md); what was imported is set aside for good.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    show_progress = sys.stderr.isatty() and len(targets) > 20
    chain_count = 0
    if verbose or show_progress:
        request_count = 0
        for target in targets:
            try:
                planned = plan_target(target.url, target.policy, depth, extra_headers=extra)
            except CorscheckError:
                continue  # a bad input line: the audit records it as that target's error
            chains = distinct_chains(planned)
            chain_count += len(chains)
            request_count += estimated_requests(chains, options.send_unsafe)
        if verbose:
            typer.echo(
                f"corscheck: {len(targets)} targets, {chain_count} distinct request chains, "
                f"about {request_count} requests (plus redirects and discovered origins)",
                err=True,
            )

    async def run(progress: "Callable[[int], None] | None") -> "Report":
        from contextlib import AbstractAsyncContextManager, nullcontext

        # An in-process app brings its own transport (and lifespan); the network needs none here.
        into_app: AbstractAsyncContextManager[Transport | None] = nullcontext(None)
        if loaded is not None:
            from corscheck.app import app_transport

            into_app = app_transport(loaded, base_url)
        async with into_app as transport:
            return await audit_targets(
                targets,
                depth=depth,
                fail_on=fail_on,
                options=options,
                extra_headers=extra,
                warnings=warnings,
                progress=progress,
                transport=transport,
                framework=framework or (loaded.framework if loaded else None),
                sinks=sinks,
                keep_probes=keep_probes,
                gate=gate,
            )

    if not show_progress:
        return run_async(run(None))
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("probing", total=chain_count)
        return run_async(run(lambda n: bar.advance(task, n)))


_FORBIDDEN_PREFIXES = ("proxy-", "sec-")
_FORBIDDEN_HEADERS = {
    "accept-charset", "accept-encoding", "access-control-request-headers",
    "access-control-request-method", "connection", "content-length", "cookie", "cookie2", "date",
    "dnt", "expect", "host", "keep-alive", "origin", "referer", "set-cookie", "te", "trailer",
    "transfer-encoding", "upgrade", "via",
}  # fmt: skip
_SENSITIVE_HEADER = ("authorization", "cookie", "token", "key", "secret", "password", "session")


def _split_probe_headers(
    raw: list[str],
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]:
    """The page's fetch() headers, and the ones a page cannot set (REQ-FORBIDDEN-HEADER), sent as-is."""
    page: list[tuple[str, str]] = []
    extra: list[tuple[str, str]] = []
    for text in raw:
        name, value = _parse_header(text)
        lower = name.lower()
        forbidden = lower in _FORBIDDEN_HEADERS or lower.startswith(_FORBIDDEN_PREFIXES)
        (extra if forbidden else page).append((name, value))
    return tuple(page), tuple(extra)


@app.command()
def probe(
    url: Annotated[str, typer.Argument(help="The URL the page fetches.", show_default=False)],
    origin: Annotated[
        str,
        typer.Option("--origin", help="The page's origin, e.g. https://app.example.com or null."),
    ],
    method: Annotated[
        str, typer.Option("--method", "-X", help="fetch() method, as the page writes it.")
    ] = "GET",
    header: HeaderOption = None,
    credentials: Annotated[
        bool, typer.Option("--credentials", help="credentials: 'include' (default: 'same-origin').")
    ] = False,
    send_unsafe: Annotated[
        bool,
        typer.Option("--send-unsafe", help="Send an unsafe actual request (POST, PUT, …) too."),
    ] = False,
    fmt: Annotated[
        ProbeFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ProbeFormat.console,
    timeout: TimeoutOption = 10.0,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    app_spec: AppOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Act like one fetch() from a page on ORIGIN and say whether the browser lets it read the response."""
    try:
        from corscheck.audit import validate_url
        from corscheck.browser import Probe
        from corscheck.headers import serialize_origin
        from corscheck.probe import run_probe
        from corscheck.runner import run_async

        proxy, trust_env = _checked_proxy(proxy, no_proxy)
        loaded = None
        if app_spec is not None:
            from corscheck.app import load_app

            loaded = load_app(app_spec)
            base_url = base_url or "http://testserver"
            validate_url(base_url)
            url = _under(base_url, url)
        target = validate_url(url)
        page_origin = "null" if origin.strip() == "null" else serialize_origin(origin.strip())
        page_headers, extra = _split_probe_headers(list(header or []))
        the_probe = Probe(
            url=target,
            origin=page_origin,
            method=method,
            headers=page_headers,
            credentials="include" if credentials else "same-origin",
            extra_headers=extra,
        )
        secrets = tuple(
            v for n, v in page_headers + extra if any(s in n.lower() for s in _SENSITIVE_HEADER)
        )

        async def run() -> "ProbeReport":
            from contextlib import AbstractAsyncContextManager, nullcontext

            into_app: AbstractAsyncContextManager[Transport | None] = nullcontext(None)
            if loaded is not None:
                from corscheck.app import app_transport

                into_app = app_transport(loaded, base_url or "http://testserver")
            async with into_app as transport:
                return await run_probe(
                    the_probe,
                    timeout=timeout,
                    send_unsafe=send_unsafe,
                    insecure=insecure,
                    secrets=secrets,
                    proxy=proxy,
                    trust_env=trust_env,
                    transport=transport,
                )

        result = run_async(run())
    except CorscheckError as error:
        _fail(str(error), EXIT_TARGET if isinstance(error, TargetError) else EXIT_USAGE)
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        _internal_error(error)
    if fmt is ProbeFormat.json:
        import json

        typer.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        from corscheck.report.console import render_probe

        typer.echo(render_probe(result, color=_color(), width=_width()), nl=False)


@app.command()
def demo(
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Add the probe grid.")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="console or json.")] = "console",
    output: Annotated[
        list[str] | None,
        typer.Option(
            "-o", "--output", help="Also write a report; format from the extension (repeat)."
        ),
    ] = None,
) -> None:
    """Audit the bundled, deliberately misconfigured demo API on a loopback port (no network needed).

    Exits 0 when the audit ran: the findings are the point of the demo.
    """
    from corscheck.audit import Target
    from corscheck.demo import DEMO_POLICY, demo_urls, serve_demo
    from corscheck.runner import RunOptions

    try:
        from corscheck.report import format_for_path

        for path in output or []:
            format_for_path(path)  # before the demo starts: a bad -o is a usage error, nothing else
        with serve_demo() as base:
            targets = [Target(url, DEMO_POLICY) for url in demo_urls(base)]
            if fmt == "console":
                policy = DEMO_POLICY
                typer.echo(
                    f"Demo: a deliberately misconfigured API on {base}, audited against the\n"
                    f"policy it was meant to follow: origins {', '.join(policy.origins)};\n"
                    f"methods {', '.join(policy.methods or ('GET',))}; "
                    f"headers {', '.join(policy.headers or ())}; "
                    f"credentials {'yes' if policy.credentials else 'no'}; "
                    f"expose {', '.join(policy.expose)}.\n"
                    "Each route makes one classic mistake; /api/status is the one done right.\n"
                )
            report = _run_audit(
                None,
                "",
                targets,
                "standard",
                "medium",
                RunOptions(trust_env=False),  # the demo API is on loopback: never via a proxy
                (),
                verbose,
                (),
                None,
                [],
                keep_probes=True,
            )
        _write_outputs(report, list(output or []))
        _print_report(report, fmt, verbose)
    except CorscheckError as error:
        _fail(str(error))
    if report.error_count:
        raise typer.Exit(EXIT_TARGET)


@app.command()
def init(
    from_url: Annotated[
        str | None,
        typer.Option("--from-url", help="Learn the policy from what this URL allows today."),
    ] = None,
    origin: Annotated[
        list[str] | None,
        typer.Option("--origin", help="A front-end origin to learn for (repeat; with --from-url)."),
    ] = None,
    pyproject: Annotated[
        bool,
        typer.Option("--pyproject", help="Append [tool.corscheck] to ./pyproject.toml instead."),
    ] = False,
    output: Annotated[
        str, typer.Option("-o", "--output", help="File to write.")
    ] = "corscheck.toml",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing policy file.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds per request.", min=0.01, max=600)] = 10.0,
    insecure: Annotated[
        bool, typer.Option("--insecure", help="Do not verify TLS certificates.")
    ] = False,
) -> None:
    """Write a commented policy file: a template, or the policy a live API follows today."""
    from corscheck.policy import build_policy
    from corscheck.policyfile import load_policy_file, render_policy_file

    try:
        targets: list[str] = []
        if from_url is None:
            if origin:
                raise UsageError("--origin goes with --from-url")
            policy = build_policy(
                origins=["https://app.example.com"],
                methods=["GET", "POST"],
                headers=["Content-Type"],
            )
        else:
            from corscheck.audit import validate_url
            from corscheck.headers import serialize_origin
            from corscheck.learn import learn_policy
            from corscheck.runner import RunOptions, run_async

            url = validate_url(from_url)
            if not origin:
                raise UsageError(
                    "--from-url needs at least one --origin (the front-ends to learn for)"
                )
            origins = [o if o == "null" else serialize_origin(o) for o in origin]
            options = RunOptions(timeout=timeout, insecure=insecure)
            policy, notes = run_async(learn_policy(url, origins, options))
            for note in notes:
                typer.echo(f"corscheck: note: {note}", err=True)
            targets = [url]
        text = render_policy_file(policy, targets, pyproject=pyproject)
        path = Path("pyproject.toml" if pyproject else output)
        if pyproject:
            existing = path.read_text("utf-8") if path.exists() else ""
            if "[tool.corscheck" in existing:
                raise UsageError(f"{path} already has a [tool.corscheck] table; edit it there")
            path.write_text(existing + ("\n" if existing else "") + text, encoding="utf-8")
        else:
            if path.exists() and not force:
                raise UsageError(f"{path} exists; pass --force to overwrite it")
            path.write_text(text, encoding="utf-8")
        load_policy_file(path)  # what we write must load back
    except OSError as error:
        _fail(f"cannot write the policy file: {error.strerror}")
    except CorscheckError as error:
        _fail(str(error), EXIT_TARGET if isinstance(error, TargetError) else EXIT_USAGE)
    typer.echo(f"wrote {path}")


@app.command()
def merge(
    reports: Annotated[
        list[str], typer.Argument(help="JSON reports of the shards.", show_default=False)
    ],
    output: Annotated[
        list[str] | None,
        typer.Option("-o", "--output", help="Write the merged report; format from the extension."),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="stdout format, as for audit.")
    ] = "console",
    fail_on: Annotated[
        FailOn | None, typer.Option("--fail-on", help="Override the shards' threshold.")
    ] = None,
) -> None:
    """Join the JSON reports of sharded runs into one report (any format); exit code as audit."""
    from dataclasses import replace

    from corscheck.merge import merge_reports

    try:
        merged = merge_reports(reports)
        if fail_on is not None:
            merged = replace(merged, fail_on=fail_on.value)
        _write_outputs(merged, list(output or []))
        _print_report(merged, fmt, verbose=False)
        _github_extras(merged, annotate=fmt == "console")
    except CorscheckError as error:
        _fail(str(error))
    raise typer.Exit(_exit_code(merged))


@app.command()
def rules(
    rule: Annotated[
        str | None, typer.Argument(help="A rule id to explain.", show_default=False)
    ] = None,
) -> None:
    """List the rule catalog, or explain one rule."""
    from corscheck.report.console import render_rule, render_rules
    from corscheck.rules import CATALOG, RULES_BY_ID

    if rule is None:
        typer.echo(render_rules(CATALOG, color=_color(), width=_width()), nl=False)
        return
    if rule not in RULES_BY_ID:
        _fail(f"no rule {rule!r}; run 'corscheck rules' for the list")
    typer.echo(render_rule(RULES_BY_ID[rule], color=_color(), width=_width()), nl=False)


def main() -> None:
    """The console script. A bug must not greet the user with a traceback either: one line, exit 2,
    and CORSCHECK_DEBUG=1 shows the traceback for a bug report."""
    try:
        app()
    except Exception as error:
        if os.environ.get("CORSCHECK_DEBUG"):
            raise
        typer.echo(
            f"corscheck: internal error: {type(error).__name__}: {error} "
            "(set CORSCHECK_DEBUG=1 for details and please report it)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
