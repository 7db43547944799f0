"""`corscheck audit`: targets and policy from the command line, a policy file or an OpenAPI document;
the run; the reports; the exit code."""

import gc
import os
import sys
from dataclasses import dataclass
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
    PROOF,
    REQUESTS,
    TARGETS,
    AppOption,
    BaseUrlOption,
    BrowserOption,
    BrowserPathOption,
    ColorOption,
    CookieOption,
    FailOnOption,
    FormatOption,
    HeaderOption,
    InsecureOption,
    NoProxyOption,
    OutputOption,
    PocOption,
    ProxyOption,
    QuietOption,
    TimeoutOption,
    UserAgentOption,
    at_least,
    check_format,
    checked_proxy,
    one_of,
    parse_header,
    parse_rate,
    under,
)
from corscheck.commands.progress import Progress
from corscheck.commands.prove import proven, settings_for, write_pocs
from corscheck.config import DEFAULTS, DEPTHS, Flags, PolicyFlags
from corscheck.errors import CorscheckError, UsageError
from corscheck.fixes import FRAMEWORKS
from corscheck.wording import plural

if TYPE_CHECKING:
    from corscheck.app import LoadedApp
    from corscheck.config import AuditConfig, Flags, RunOptions
    from corscheck.policyfile import PolicyFile
    from corscheck.report.model import Report, ReportSink
    from corscheck.target import Route


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


def _find_policy_file(path: str | None, read_secrets: bool = True) -> "PolicyFile | None":
    from corscheck.policyfile import find_policy_file, load_policy_file

    found = Path(path) if path is not None else find_policy_file(Path.cwd())
    return load_policy_file(found, read_secrets=read_secrets) if found else None


def _print_policies(config: "AuditConfig", fmt: str) -> None:
    """The [policy] that applies where no target says otherwise, then each target's that differs:
    as a policy file would write them (TOML), or with `-f json` as JSON."""
    import json

    from corscheck.masking import mask_url
    from corscheck.policyfile import policy_table, toml_string

    targets = [(mask_url(t.url), t.policy) for t in config.targets]
    if fmt == "json":
        document = {
            "source": config.policy_statement,
            "policy": config.policy.to_dict() if config.policy else None,
            "targets": [{"url": url, "policy": p.to_dict() if p else None} for url, p in targets],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    lines = [f"# The effective policy: {config.policy_statement}."]
    if config.policy is None:
        lines.append("# No [policy]: the safe baseline, no crafted origin may read.")
    else:
        lines += ["[policy]", *policy_table(config.policy)]
    for url, policy in targets:
        lines += ["", "[[targets]]", f"url = {toml_string(url)}"]
        if policy != config.policy:
            inline = ", ".join(policy_table(policy)) if policy else None
            lines.append(f"policy = {{ {inline} }}" if inline else "# policy: the safe baseline")
    typer.echo("\n".join(lines))


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
        str | None,
        typer.Option(
            metavar="quick|standard|thorough",
            help="Coverage against requests sent (default: standard, about 40 a URL).",
            callback=one_of(DEPTHS),
            show_default=False,
            rich_help_panel=REQUESTS,
        ),
    ] = None,
    cookie: CookieOption = None,
    browser: BrowserOption = None,
    user_agent: UserAgentOption = None,
    header: HeaderOption = None,
    send_unsafe: Annotated[
        bool,
        typer.Option(
            "--send-unsafe",
            help="Also send unsafe actual requests (POST, PUT, …).",
            rich_help_panel=REQUESTS,
        ),
    ] = False,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    concurrency: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help=f"Requests in flight in total, up to 10000 (default: {DEFAULTS['concurrency']}).",
            callback=at_least(1, 10000),
            show_default=False,
            rich_help_panel=POLITENESS,
        ),
    ] = None,
    per_host: Annotated[
        int | None,
        typer.Option(
            "--per-host",
            metavar="N",
            help=f"Requests in flight per host (default: {DEFAULTS['per-host']}).",
            callback=at_least(1),
            show_default=False,
            rich_help_panel=POLITENESS,
        ),
    ] = None,
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
    fail_on: FailOnOption = None,
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
        str | None,
        typer.Option(
            "--framework",
            metavar="NAME",
            help="Word fixes for this framework: fastapi, starlette, flask, django, express, "
            "spring, nginx or generic (default: detected).",
            callback=one_of(FRAMEWORKS),
            rich_help_panel=OUTPUT,
        ),
    ] = None,
    prove: Annotated[
        bool,
        typer.Option(
            "--prove",
            help="Replay each finding's request in headless Chromium and attach what it did "
            "(reads at most 64 KiB of each body).",
            rich_help_panel=PROOF,
        ),
    ] = False,
    browser_path: BrowserPathOption = None,
    poc: PocOption = None,
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
        check_format(fmt)
        output_formats = _output_formats(output)
        proxy, trust_env = checked_proxy(proxy, no_proxy)
        flags = Flags(
            policy=PolicyFlags(
                origins=tuple(allow_origin or ()),
                methods=tuple(allow_method or ()),
                headers=tuple(allow_header or ()),
                expose=tuple(expose_header or ()),
                credentials=credentials,
                max_age=max_age,
            ),
            depth=depth,  # type: ignore[arg-type]  # checked by one_of(DEPTHS)
            fail_on=fail_on,  # type: ignore[arg-type]  # checked by one_of(FAIL_ON_VALUES)
            concurrency=concurrency,
            per_host=per_host,
            timeout=timeout,
            rate=parse_rate(rate),
            headers=tuple(parse_header(h) for h in header or []),
            send_unsafe=send_unsafe,
            insecure=insecure,
            proxy=proxy,
            trust_env=trust_env,
            framework=framework,
            ignore_rules=tuple(ignore_rule or ()),
            shard=_shard(shard_spec),
            cookies=tuple(cookie or ()),
            browsers=tuple(browser or ()),
            user_agent=user_agent,
        )
        request = _AuditInputs(urls, input_file, openapi_source, app_spec, base_url, print_policy)
        loaded, app_base_url, config = _resolve_inputs(request, flags, policy_path, baseline_path)
        if print_policy:
            _print_policies(config, fmt)
            raise typer.Exit(EXIT_OK)
        browser_executable = _proof_browser(prove, browser_path, loaded is not None)
        # With --prove the JSON is written once the proofs are in, not streamed as targets finish.
        streamed = not prove
        json_paths = [p for p, kind in output_formats.items() if kind == "json" and streamed]
        other_paths = [p for p in output_formats if p not in json_paths]
        from corscheck.report.model import LARGE_RUN

        progress = Progress(
            len(config.targets), show=not quiet and len(config.targets) > PROGRESS_AFTER
        )
        with json_streams(fmt == "json" and streamed, json_paths, len(config.targets)) as sinks:
            report = run_audit(
                config,
                [*sinks, progress],
                app=loaded,
                base_url=app_base_url,
                verbose=verbose and not quiet,
                # Past a screenful of targets the reports summarize: the probes are written to the
                # JSON as each target finishes and dropped, so memory stays flat.
                # With --prove the JSON is written at the end, so it keeps them too.
                keep_probes=len(config.targets) <= LARGE_RUN
                or verbose
                or "html" in (fmt, *output_formats.values())
                or (not streamed and "json" in (fmt, *output_formats.values())),
            )
        if browser_executable is not None:
            report = proven(report, settings_for(config, browser_executable), quiet=quiet)
        if poc is not None:
            write_pocs(report, poc)
        write_outputs(report, other_paths)
        if fmt != "json" or not streamed:
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


def _proof_browser(prove: bool, browser_path: str | None, in_process: bool) -> str | None:
    """The browser --prove drives, found before the audit starts (None without --prove)."""
    if not prove:
        if browser_path is not None:
            raise UsageError("--browser-path is the browser of --prove: add --prove")
        return None
    if in_process:
        raise UsageError(
            "--prove needs the API on the network, where a browser reaches it: serve the app "
            "(uvicorn, flask run) and audit its URL"
        )
    from corscheck.prove.chromium import find_browser

    return find_browser(browser_path)


def _shard(spec: str | None) -> tuple[int, int] | None:
    from corscheck.shard import parse_shard

    return parse_shard(spec) if spec is not None else None


def _output_formats(output: list[str] | None) -> dict[str, str]:
    """Each -o path and its format (from the extension), before anything runs."""
    from corscheck.report import format_for_path

    return {path: format_for_path(path) for path in output or []}


@dataclass(frozen=True)
class _AuditInputs:
    """Where the targets come from, as the command line gave it."""

    urls: list[str] | None
    input_file: str | None
    openapi_source: str | None
    app_spec: str | None
    base_url: str | None
    print_policy: bool


def _resolve_inputs(
    given: _AuditInputs, flags: "Flags", policy_path: str | None, baseline_path: str | None
) -> "tuple[LoadedApp | None, str, AuditConfig]":
    """Reads what the run needs from outside (the app, -i, the policy file, the OpenAPI document,
    the baseline) and resolves it with the flags into one config: the app, its base URL, the config."""
    from corscheck.config import resolve, resolve_options
    from corscheck.target import validate_url
    from corscheck.transport.inprocess import DEFAULT_BASE_URL

    loaded = None
    app_base_url = given.base_url or DEFAULT_BASE_URL
    urls = list(given.urls or [])
    if given.openapi_source is not None and (urls or given.input_file):
        raise UsageError("--openapi takes the place of URLs and -i: give one or the other")
    if given.app_spec is not None:
        from corscheck.app import load_app

        loaded = load_app(given.app_spec)
        validate_url(app_base_url)
        # Paths (on the command line or in -i) are the app's; "/" when none is given at all.
        if given.openapi_source is None and not given.print_policy:
            urls = [under(app_base_url, p) for p in urls or ([] if given.input_file else ["/"])]
    for url in urls:
        validate_url(url)  # typed on the command line: a usage error; bad -i lines are recorded
    # Printing the policy sends nothing: the secrets it names are not read.
    policy_file = _find_policy_file(policy_path, read_secrets=not given.print_policy)
    routes = None
    if given.openapi_source is not None:
        options = resolve_options(flags, policy_file)
        routes = _openapi_routes(
            given.openapi_source, loaded, app_base_url, given.base_url, options
        )
    else:
        urls = _read_inputs(urls, given.input_file)
        if loaded is not None:
            urls = [under(app_base_url, u) for u in urls]
    has_targets = urls or routes or (policy_file is not None and policy_file.targets)
    if not has_targets and not given.print_policy:
        raise _no_targets(given.input_file)
    from corscheck.gate import load_baseline

    config = resolve(
        flags,
        urls,
        policy_file,
        routes=routes,
        baseline=load_baseline(baseline_path) if baseline_path is not None else None,
        shown_policy_path=_shown_path(policy_file.path) if policy_file else None,
    )
    return loaded, app_base_url, config


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


def _openapi_routes(
    source: str,
    loaded: "LoadedApp | None",
    app_base_url: str,
    base_url: str | None,
    options: "RunOptions",
) -> "dict[str, Route]":
    """The routes of the OpenAPI document, by the URL audited. Under --base-url when given; with
    --app, under the app's base URL (the document's server path kept); else under the document's
    servers, or the URL it was fetched from."""
    from urllib.parse import urlsplit

    from corscheck.openapi import document_base, document_routes, load_document
    from corscheck.target import validate_url

    document, fetched_from = load_document(
        source, options=options, app=loaded, app_base_url=app_base_url
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


def run_audit(
    config: "AuditConfig",
    sinks: "list[ReportSink]",
    *,
    app: "LoadedApp | None" = None,
    base_url: str | None = None,
    verbose: bool = False,
    keep_probes: bool = True,
) -> "Report":
    """The run of `config` (into `app` when given), with the request estimate first when verbose."""
    from corscheck.audit import run_config
    from corscheck.runner import run_async

    # An audit allocates millions of short-lived objects that hold no cycles (header lines, verdicts,
    # report dicts); at the default thresholds the cycle collector rescans the survivors hundreds of
    # times and takes about a tenth of the run, and collects next to nothing. Less often, it costs
    # nearly nothing (benchmarks/README.md); what was imported is set aside for good.
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)
    if verbose:
        _announce(config)
    return run_async(
        run_config(config, app=app, base_url=base_url, sinks=sinks, keep_probes=keep_probes)
    )


def _announce(config: "AuditConfig") -> None:
    """How many targets, request chains and requests the run is about to send (on stderr)."""
    from corscheck.plan import distinct_chains, estimated_requests, plan_target

    chain_count = request_count = 0
    for target in config.targets:
        try:
            planned = plan_target(
                target.url, target.policy, config.depth, extra_headers=config.extra_headers
            )
        except CorscheckError:
            continue  # a bad input line: the audit records it as that target's error
        chains = distinct_chains(planned)
        chain_count += len(chains)
        request_count += estimated_requests(chains, config.options.send_unsafe)
    typer.echo(
        f"corscheck: {plural(len(config.targets), 'target')} · "
        f"{plural(chain_count, 'request chain')} · about "
        f"{plural(request_count, 'request')}",
        err=True,
    )
