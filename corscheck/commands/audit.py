"""`corscheck audit`: targets and policy from the command line, a policy file or an OpenAPI document;
the run; the reports; the exit code."""

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corscheck.commands.edge import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    exit_code,
    fail,
    fail_with,
    github_extras,
    internal_error,
    json_streams,
    print_report,
    write_outputs,
)
from corscheck.commands.options import (
    OUTPUT,
    POLICY,
    POLITENESS,
    REQUESTS,
    TARGETS,
    AppOption,
    BaseUrlOption,
    ColorOption,
    Depth,
    FailOn,
    FormatOption,
    Framework,
    HeaderOption,
    InsecureOption,
    NoProxyOption,
    OutputOption,
    ProxyOption,
    QuietOption,
    TimeoutOption,
    app_or_network,
    at_least,
    check_format,
    checked_proxy,
    parse_header,
    parse_rate,
    under,
)
from corscheck.commands.progress import Progress, plural
from corscheck.errors import CorscheckError, PolicyError, UsageError

if TYPE_CHECKING:
    from corscheck.app import LoadedApp
    from corscheck.gate import Gate
    from corscheck.plan import Depth as PlanDepth
    from corscheck.policy import Policy
    from corscheck.policyfile import PolicyFile
    from corscheck.report.model import Report, ReportSink
    from corscheck.runner import RunOptions
    from corscheck.target import Route, SourceLocation, Target


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

    if not overrides:
        return base  # as the file built it, with its warnings
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
    try:
        return build_policy(**fields)  # type: ignore[arg-type]
    except PolicyError as error:
        # Said in the words the user wrote: flags, not the policy file's TOML.
        message = str(error)
        if "origins" in overrides:
            message = message.replace('origins = ["*"]', "--allow-origin '*'")
        if "credentials" in overrides:
            message = message.replace("credentials = true", "--credentials")
            message = message.replace("set credentials = false", "pass --no-credentials")
        raise PolicyError(message) from None


def _find_policy_file(path: str | None) -> "PolicyFile | None":
    from corscheck.policyfile import find_policy_file, load_policy_file

    if path is not None:
        return load_policy_file(Path(path))
    found = find_policy_file(Path.cwd())
    return load_policy_file(found) if found else None


def _print_policies(
    top: "Policy | None", policies: "dict[str, Policy | None]", source: str | None
) -> None:
    """The [policy] that applies where no target says otherwise, then each target's."""
    import json

    from corscheck.masking import mask_url

    def shown(policy: "Policy | None") -> str:
        return json.dumps(policy.to_dict()) if policy else "safe baseline (no policy)"

    typer.echo(f"# policy file: {source or 'none'}; command-line flags override it")
    typer.echo(f"[policy]\n  {shown(top)}")
    for url, policy in policies.items():
        typer.echo(f"{mask_url(url)}\n  {shown(policy)}")


PROGRESS_AFTER = 20  # targets: a shorter run is over before progress would tell anything

EPILOG = """\b
Examples:
  corscheck audit https://api.example.com/v1/users
  corscheck audit -i urls.txt --allow-origin https://app.example.com
  corscheck audit -p corscheck.toml -o report.sarif --fail-on high
  corscheck audit --app myproject.main:app /api/items

\b
Exit codes:
  0    no finding at or above --fail-on
  1    findings at or above --fail-on
  2    usage, policy-file or input error
  3    a target could not be audited (and no finding reached --fail-on)
  130  interrupted (Ctrl-C)
"""


def audit(
    urls: Annotated[
        list[str] | None,
        typer.Argument(
            help="URLs to audit (paths with --app).", metavar="URL…", show_default=False
        ),
    ] = None,
    input_file: Annotated[
        str | None,
        typer.Option(
            "-i",
            "--input",
            metavar="FILE",
            help="URLs, one a line ('-' for stdin; # comments).",
            rich_help_panel=TARGETS,
        ),
    ] = None,
    openapi_source: Annotated[
        str | None,
        typer.Option(
            "--openapi",
            metavar="SOURCE",
            help="Audit every route of an OpenAPI document: a URL, a JSON/YAML file, or with "
            "--app the path the app serves it at (/openapi.json).",
            rich_help_panel=TARGETS,
        ),
    ] = None,
    shard_spec: Annotated[
        str | None,
        typer.Option(
            "--shard",
            metavar="K/N",
            help="Audit share K of N of the targets (CI matrix jobs), e.g. 2/4.",
            rich_help_panel=TARGETS,
        ),
    ] = None,
    policy_path: Annotated[
        str | None,
        typer.Option(
            "-p",
            "--policy",
            metavar="FILE",
            help="Policy file (default: corscheck.toml here or above, or [tool.corscheck] in "
            "pyproject.toml).",
            rich_help_panel=POLICY,
        ),
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-origin",
            metavar="ORIGIN",
            help="An origin the policy allows (repeat; '*' for a public API).",
            rich_help_panel=POLICY,
        ),
    ] = None,
    allow_method: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-method",
            metavar="METHOD",
            help="A method the policy allows (repeat).",
            rich_help_panel=POLICY,
        ),
    ] = None,
    allow_header: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-header",
            metavar="HEADER",
            help="A request header the policy allows (repeat).",
            rich_help_panel=POLICY,
        ),
    ] = None,
    expose_header: Annotated[
        list[str] | None,
        typer.Option(
            "--expose-header",
            metavar="HEADER",
            help="A response header the page must read (repeat).",
            rich_help_panel=POLICY,
        ),
    ] = None,
    credentials: Annotated[
        bool | None,
        typer.Option(
            "--credentials/--no-credentials",
            help="Whether allowed origins send cookies or HTTP authentication.",
            show_default=False,
            rich_help_panel=POLICY,
        ),
    ] = None,
    max_age: Annotated[
        int | None,
        typer.Option(
            "--max-age",
            metavar="SECONDS",
            help="The largest acceptable Access-Control-Max-Age.",
            callback=at_least(0),
            rich_help_panel=POLICY,
        ),
    ] = None,
    ignore_rule: Annotated[
        list[str] | None,
        typer.Option(
            "--ignore",
            metavar="RULE",
            help="Accept a rule's findings for this run (repeat); for good, add an [[ignore]] "
            "with a reason to the policy file.",
            rich_help_panel=POLICY,
        ),
    ] = None,
    baseline_path: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            metavar="FILE",
            help="A JSON report of an earlier run: findings are marked new or unchanged, and "
            "--fail-on counts only new ones.",
            rich_help_panel=POLICY,
        ),
    ] = None,
    print_policy: Annotated[
        bool,
        typer.Option(
            "--print-policy",
            help="Print the effective policy ([policy] and each target's) and exit.",
            rich_help_panel=POLICY,
        ),
    ] = False,
    depth: Annotated[
        Depth,
        typer.Option(
            metavar="quick|standard|thorough",
            help="Coverage against requests sent (standard: about 40 a URL).",
            rich_help_panel=REQUESTS,
        ),
    ] = Depth.standard,
    header: HeaderOption = None,
    send_unsafe: Annotated[
        bool,
        typer.Option(
            "--send-unsafe",
            help="Also send unsafe actual requests (POST, PUT, …).",
            rich_help_panel=REQUESTS,
        ),
    ] = False,
    timeout: TimeoutOption = 10.0,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    concurrency: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Requests in flight in total, up to 10000.",
            callback=at_least(1, 10000),
            rich_help_panel=POLITENESS,
        ),
    ] = 64,
    per_host: Annotated[
        int,
        typer.Option(
            "--per-host",
            metavar="N",
            help="Requests in flight per host.",
            callback=at_least(1),
            rich_help_panel=POLITENESS,
        ),
    ] = 16,
    rate: Annotated[
        str | None,
        typer.Option(
            "--rate",
            metavar="N/s",
            help="Most requests per second per host, e.g. 20/s (default: no cap).",
            rich_help_panel=POLITENESS,
        ),
    ] = None,
    fmt: FormatOption = "console",
    output: OutputOption = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            metavar="SEVERITY",
            help="Lowest severity that makes the exit code 1: critical, high, medium, low or "
            "never.",
            rich_help_panel=OUTPUT,
        ),
    ] = FailOn.medium,
    verbose: Annotated[
        bool,
        typer.Option(
            "-v",
            "--verbose",
            help="Show the request count and the probe grid.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    quiet: QuietOption = False,
    colored: ColorOption = None,
    framework: Annotated[
        Framework | None,
        typer.Option(
            "--framework",
            metavar="NAME",
            help="Word fixes for this framework: fastapi, starlette, flask, django, express, "
            "spring, nginx or generic (default: detected).",
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    app_spec: AppOption = None,
    base_url: BaseUrlOption = None,
) -> None:
    """Audit URLs: probe them as browsers would and report findings.

    The policy comes from the flags, a policy file (corscheck init writes one) or, without either,
    the safe baseline: no attacker-crafted origin may read.
    """
    json_paths: list[str] = []
    progress: Progress | None = None
    try:
        from corscheck.runner import RunOptions
        from corscheck.target import Target, validate_url

        proxy, trust_env = checked_proxy(proxy, no_proxy)
        check_format(fmt)
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
            if openapi_source is None and not print_policy:
                urls = [under(base_url, p) for p in urls or ([] if input_file else ["/"])]
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
            targets_urls = [under(base_url, u) for u in targets_urls]
        if not targets_urls and not print_policy:
            raise _no_targets(input_file)
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
            _print_policies(top, policies, policy_file.path if policy_file else None)
            raise typer.Exit(EXIT_OK)
        depth = Depth(settings.get("depth", depth)) if depth is Depth.standard else depth
        fail_on = FailOn(settings.get("fail-on", fail_on)) if fail_on is FailOn.medium else fail_on
        concurrency = settings.get("concurrency", concurrency) if concurrency == 64 else concurrency
        per_host = settings.get("per-host", per_host) if per_host == 16 else per_host
        timeout = settings.get("timeout", timeout) if timeout == 10.0 else timeout
        if rate is None and "rate" in settings:
            rate = str(settings["rate"])
        extra = tuple(settings.get("headers", ())) + tuple(parse_header(h) for h in header or [])
        from corscheck.report import format_for_path
        from corscheck.report.model import LARGE_RUN

        output_formats = {path: format_for_path(path) for path in output or []}
        options = RunOptions(
            concurrency=concurrency,
            per_host=per_host,
            timeout=timeout,
            rate=parse_rate(rate),
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
        progress = Progress(len(targets), show=not quiet and len(targets) > PROGRESS_AFTER)
        with json_streams(fmt == "json", json_paths, len(targets)) as sinks:
            report = run_audit(
                loaded,
                base_url,
                targets,
                depth.value,
                fail_on.value,
                options,
                extra,
                verbose and not quiet,
                tuple(dict.fromkeys(w for p in policies.values() if p for w in p.warnings)),
                framework.value if framework else None,
                [*sinks, progress],
                # Past a screenful of targets the reports summarize: the probes are written to the
                # JSON as each target finishes and dropped, so memory stays flat.
                keep_probes=len(targets) <= LARGE_RUN
                or verbose
                or "html" in (fmt, *output_formats.values()),
                gate=gate,
            )
        write_outputs(report, other_paths)
        if fmt != "json":
            print_report(report, fmt, verbose, colored)
        github_extras(report, annotate=fmt == "console")
    except CorscheckError as error:
        fail_with(error)
    except KeyboardInterrupt:
        how_far = f": {progress.so_far()}" if progress is not None else ""
        kept = "".join(f"; the targets done so far are in {p}.partial" for p in json_paths)
        fail(f"interrupted{how_far}{kept}", EXIT_INTERRUPTED)
    except BrokenPipeError:
        # The reader of stdout left (`| head`): stop quietly, as a tool killed by SIGPIPE does, and
        # keep Python's exit-time flush from failing on the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as error:
        internal_error(error)
    raise typer.Exit(exit_code(report))


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

    from corscheck.openapi import document_base, document_routes, load_document
    from corscheck.target import validate_url

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
    from corscheck.target import SourceLocation

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


def run_audit(
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
    if verbose:
        chain_count = request_count = 0
        for target in targets:
            try:
                planned = plan_target(target.url, target.policy, depth, extra_headers=extra)
            except CorscheckError:
                continue  # a bad input line: the audit records it as that target's error
            chains = distinct_chains(planned)
            chain_count += len(chains)
            request_count += estimated_requests(chains, options.send_unsafe)
        typer.echo(
            f"corscheck: {plural(len(targets), 'target')} · "
            f"{plural(chain_count, 'request chain')} · about "
            f"{plural(request_count, 'request')}",
            err=True,
        )

    async def run() -> "Report":
        async with app_or_network(loaded, base_url) as transport:
            return await audit_targets(
                targets,
                depth=depth,
                fail_on=fail_on,
                options=options,
                extra_headers=extra,
                warnings=warnings,
                transport=transport,
                framework=framework or (loaded.framework if loaded else None),
                sinks=sinks,
                keep_probes=keep_probes,
                gate=gate,
            )

    return run_async(run())
