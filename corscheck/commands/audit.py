"""`corscheck audit`: targets and policy from the command line, a policy file or an OpenAPI document;
the run; the reports; the exit code."""

from typing import Annotated

import typer

from corscheck.commands.edge import EXIT_OK, exit_code, the_edge
from corscheck.commands.options import (
    OUTPUT,
    POLICY,
    POLITENESS,
    PROOF,
    REQUESTS,
    TARGETS,
    AllowHeaderOption,
    AllowMethodOption,
    AllowOriginOption,
    AppOption,
    AsIsOption,
    BaseUrlOption,
    BrowserOption,
    BrowserPathOption,
    ColorOption,
    ConfigFromOption,
    CookieOption,
    CredentialsOption,
    DetailOption,
    ExposeHeaderOption,
    FailOnOption,
    FormatOption,
    HarOption,
    HeaderOption,
    InsecureOption,
    MaxAgeOption,
    NoProxyOption,
    OutputOption,
    PocOption,
    ProxyOption,
    QuietOption,
    SendUnsafeOption,
    TimeoutOption,
    UserAgentOption,
    at_least,
    check_format,
    checked_proxy,
    one_of,
    parse_header,
    parse_rate,
)
from corscheck.commands.progress import Progress
from corscheck.config import DEFAULTS, DEPTHS, FRAMEWORKS, TARGETS_PER_WORKER, Flags, PolicyFlags

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
  2    usage, policy-file or input error (any target's, even with findings), or an internal
       error (CORSCHECK_DEBUG=1 shows it)
  3    a target could not be audited (and no finding reached --fail-on)
  130  interrupted (Ctrl-C)
  141  stdout closed before the report was written (| head)
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
    allow_origin: AllowOriginOption = None,
    allow_method: AllowMethodOption = None,
    allow_header: AllowHeaderOption = None,
    expose_header: ExposeHeaderOption = None,
    credentials: CredentialsOption = None,
    max_age: MaxAgeOption = None,
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
            help="Print the effective policy as TOML (JSON with -f json): [policy] and each "
            "target, with its own policy where it differs; then exit.",
            rich_help_panel=POLICY,
        ),
    ] = False,
    depth: Annotated[
        str | None,
        typer.Option(
            metavar="quick|standard|thorough",
            help="Coverage against requests sent (default: standard, about 15 requests a URL "
            "without a policy, 25 to 40 with one; quick about 6).",
            callback=one_of(DEPTHS),
            show_default=False,
            rich_help_panel=REQUESTS,
        ),
    ] = None,
    cookie: CookieOption = None,
    browser: BrowserOption = None,
    user_agent: UserAgentOption = None,
    as_is: AsIsOption = False,
    header: HeaderOption = None,
    send_unsafe: SendUnsafeOption = False,
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
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            metavar="N",
            help="Worker processes; 1 keeps the run in one process (default: one per core, "
            f"for every {TARGETS_PER_WORKER} targets).",
            callback=at_least(1, 256),
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
    detail: DetailOption = "compact",
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
            help=f"Word fixes for this framework: {', '.join(FRAMEWORKS[:-1])} or "
            f"{FRAMEWORKS[-1]} (default: recognised per target).",
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
    config_from: ConfigFromOption = None,
    har_path: HarOption = None,
) -> None:
    """Audit URLs: probe them as browsers would and report findings.

    The policy comes from the flags, a policy file (corscheck init writes one) or, without either,
    the safe baseline: no attacker-crafted origin may read.
    """
    from corscheck.audit import announcement, run_audit
    from corscheck.deliver import Delivery, deliver, proof_browser, settings_for
    from corscheck.inputs import AuditInputs, resolve_inputs
    from corscheck.policywriter import effective_policies
    from corscheck.report.model import LARGE_RUN
    from corscheck.report.outputs import check_outputs, json_streams, wrapped
    from corscheck.shard import parse_shard

    json_paths: list[str] = []
    progress: Progress | None = None

    def interrupted() -> str:
        how_far = f": {progress.so_far()}" if progress is not None else ""
        kept = "".join(f"; the targets done so far are in {p}.partial" for p in json_paths)
        return f"interrupted{how_far}{kept}"

    with the_edge(interrupted):
        check_format(fmt)
        output_formats = check_outputs(output or [])
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
            jobs=jobs,
            timeout=timeout,
            rate=parse_rate(rate),
            headers=tuple(parse_header(h) for h in header or []),
            send_unsafe=send_unsafe,
            insecure=insecure,
            proxy=proxy,
            trust_env=trust_env,
            framework=framework,
            ignore_rules=tuple(ignore_rule or ()),
            shard=parse_shard(shard_spec) if shard_spec is not None else None,
            cookies=tuple(cookie or ()),
            browsers=tuple(browser or ()),
            user_agent=user_agent,
            as_is=as_is,
        )
        given = AuditInputs(
            tuple(urls or ()), input_file, openapi_source, app_spec, base_url, policy_path,
            baseline_path, print_policy, config_from, har_path,
        )  # fmt: skip
        run = resolve_inputs(given, flags)
        config = run.config
        if print_policy:
            typer.echo(effective_policies(config, fmt))
            raise typer.Exit(EXIT_OK)
        browser_executable = proof_browser(prove, browser_path, run.app is not None)
        # With --prove the JSON is written once the proofs are in, not streamed as targets finish.
        streamed = not prove
        json_paths = [p for p, kind in output_formats.items() if kind == "json" and streamed]
        formats = {fmt, *output_formats.values()}
        progress = Progress(
            len(config.targets), show=not quiet and len(config.targets) > PROGRESS_AFTER
        )
        streaming = (fmt == "json" and streamed, json_paths, len(config.targets), detail)
        with json_streams(*streaming) as sinks:  # type: ignore[arg-type]  # checked by one_of
            if verbose and not quiet:
                typer.echo(wrapped(announcement(config, in_process=run.app is not None)), err=True)
            report = run_audit(
                config,
                [*sinks, progress],
                app=run.app,
                base_url=run.base_url,
                # Past a screenful of targets the reports summarize: the probes are written to the
                # JSON as each target finishes and dropped, so memory stays flat.
                # With --prove the JSON is written at the end, so it keeps them too.
                keep_probes=len(config.targets) <= LARGE_RUN
                or verbose
                or "html" in formats
                or (not streamed and "json" in formats),
            )
        proving = settings_for(config, browser_executable) if browser_executable else None
        report = deliver(
            report,
            Delivery(
                fmt=fmt,
                outputs=[p for p in output_formats if p not in json_paths],
                printed=fmt != "json" or not streamed,
                verbose=verbose,
                colored=colored,
                quiet=quiet,
                proving=proving,
                poc=poc,
                detail=detail,  # type: ignore[arg-type]  # checked by one_of
            ),
        )
    raise typer.Exit(exit_code(report))
