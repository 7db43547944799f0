"""`corscheck init`: a commented policy file, from a template or learned from a live API."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from corscheck.commands.edge import fail, the_edge
from corscheck.commands.options import (
    OUTPUT,
    HeaderOption,
    InsecureOption,
    NoProxyOption,
    ProxyOption,
    TimeoutOption,
    checked_proxy,
    parse_header,
)
from corscheck.errors import UsageError

if TYPE_CHECKING:
    from corscheck.policy import Policy

POLICY_FILE = "Policy file"


def init(
    from_url: Annotated[
        str | None,
        typer.Option(
            "--from-url",
            metavar="URL",
            help="Learn the policy from what this URL allows today.",
            rich_help_panel=POLICY_FILE,
        ),
    ] = None,
    from_app: Annotated[
        str | None,
        typer.Option(
            "--from-app",
            metavar="MODULE:APP",
            help="Write the policy the code declares: its CORS settings (or an nginx file's), "
            "imported, never served; regexes that are not a list of origins become comments.",
            rich_help_panel=POLICY_FILE,
        ),
    ] = None,
    from_har: Annotated[
        str | None,
        typer.Option(
            "--from-har",
            metavar="FILE",
            help="Write the policy a browser recording implies: its front-end origins, and per API "
            "URL the methods and headers of their cross-origin calls.",
            rich_help_panel=POLICY_FILE,
        ),
    ] = None,
    credentials: Annotated[
        bool,
        typer.Option(
            "--credentials",
            help="With --from-har: the front-end sends cookies or Authorization (HAR exports "
            "drop them by default).",
            rich_help_panel=POLICY_FILE,
        ),
    ] = False,
    origin: Annotated[
        list[str] | None,
        typer.Option(
            "--origin",
            metavar="ORIGIN",
            help="A front-end origin to learn for (repeat; with --from-url).",
            rich_help_panel=POLICY_FILE,
        ),
    ] = None,
    pyproject: Annotated[
        bool,
        typer.Option(
            "--pyproject",
            help="Append [tool.corscheck] to the pyproject.toml here instead.",
            rich_help_panel=POLICY_FILE,
        ),
    ] = False,
    output: Annotated[
        str,
        typer.Option(
            "-o",
            "--output",
            metavar="PATH",
            help="File to write (default: corscheck.toml).",
            show_default=False,
            rich_help_panel=POLICY_FILE,
        ),
    ] = "corscheck.toml",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite an existing policy file.", rich_help_panel=POLICY_FILE
        ),
    ] = False,
    header: HeaderOption = None,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    proxy: ProxyOption = None,
    no_proxy: NoProxyOption = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q", "--quiet", help="No notes, and no 'wrote PATH' line.", rich_help_panel=OUTPUT
        ),
    ] = False,
) -> None:
    """Write a commented policy file: a template, or the policy a live API follows today."""
    from corscheck.inputs import load_policy_file
    from corscheck.policy import build_policy
    from corscheck.policywriter import render_policy_file

    with the_edge():
        try:
            targets: list[str] = []
            path = Path("pyproject.toml" if pyproject else output)
            if pyproject and not path.is_file():
                raise UsageError(
                    "no pyproject.toml here to add [tool.corscheck] to",
                    hint="run corscheck init without --pyproject for a corscheck.toml",
                )
            sources = [s for s in (from_url, from_app, from_har) if s is not None]
            if len(sources) > 1:
                raise UsageError("give one of --from-url, --from-app and --from-har")
            if credentials and from_har is None:
                raise UsageError("--credentials goes with --from-har")
            comments: list[str] = []
            target_policies: dict[str, Policy] = {}
            if from_app is not None or from_har is not None:
                if origin:
                    raise UsageError("--origin goes with --from-url")
                policy, targets, comments, target_policies = _declared(
                    from_app, from_har, credentials
                )
                if not quiet:
                    for note in comments:
                        typer.echo(f"corscheck: note: {note}", err=True)
            elif from_url is None:
                if origin:
                    raise UsageError("--origin goes with --from-url")
                policy = build_policy(
                    origins=["https://app.example.com"],
                    methods=["GET", "POST"],
                    headers=["Content-Type"],
                )
            else:
                from corscheck.config import DEFAULTS
                from corscheck.headers import serialize_origin
                from corscheck.learn import learn_policy
                from corscheck.runner import run_async
                from corscheck.target import validate_url
                from corscheck.transport.options import RunOptions

                url = validate_url(from_url)
                if not origin:
                    raise UsageError(
                        "--from-url needs at least one --origin (the front-ends to learn for)"
                    )
                origins = [o if o == "null" else serialize_origin(o) for o in origin]
                proxy, trust_env = checked_proxy(proxy, no_proxy)
                options = RunOptions(
                    timeout=timeout or DEFAULTS["timeout"],
                    insecure=insecure,
                    proxy=proxy,
                    trust_env=trust_env,
                )
                extra = tuple(parse_header(h) for h in header or [])
                policy, notes = run_async(learn_policy(url, origins, options, extra))
                if not quiet:
                    for note in notes:
                        typer.echo(f"corscheck: note: {note}", err=True)
                targets = [url]
            placeholder = from_url is None and from_app is None and from_har is None
            text = render_policy_file(
                policy,
                targets,
                pyproject=pyproject,
                placeholder=placeholder,
                comments=comments,
                target_policies=target_policies,
            )
            if pyproject:
                existing = path.read_text("utf-8")
                if "[tool.corscheck" in existing:
                    raise UsageError(f"{path} already has a [tool.corscheck] table; edit it there")
                path.write_text(existing + ("\n" if existing else "") + text, encoding="utf-8")
            else:
                if path.exists() and not force:
                    raise UsageError(f"{path} exists", hint="pass --force to overwrite it")
                path.write_text(text, encoding="utf-8")
            load_policy_file(path)  # what we write must load back
        except OSError as error:
            fail(f"cannot write the policy file: {error.strerror}")
    if not quiet:
        typer.echo(f"wrote {path}")


def _declared(
    from_app: str | None, from_har: str | None, credentials: bool
) -> tuple["Policy", list[str], list[str], dict[str, "Policy"]]:
    """The policy --from-app or --from-har declares: the policy, its targets, comment lines and
    each target's own policy. Raises UsageError."""
    from corscheck.policy import build_policy

    if from_app is not None:
        from corscheck.appconfig import read_config_source
        from corscheck.written import declared_policy

        declared = declared_policy(read_config_source(from_app))
        if not declared.origins:
            raise UsageError(
                f"{from_app} lists no origin (only regexes): write the front-ends in the policy "
                "by hand; " + "; ".join(declared.comments)
            )
        policy = build_policy(
            origins=declared.origins,
            methods=declared.methods,
            headers=declared.headers,
            expose=declared.expose,
            credentials=declared.credentials,
        )
        return policy, [], list(declared.comments), {}
    assert from_har is not None
    from corscheck.inputs import read_har

    calls = read_har(from_har)
    sends = credentials or any(c.credentials for c in calls.calls)
    methods = sorted({m for c in calls.calls for m in c.methods})
    headers = sorted({h for c in calls.calls for h in c.headers})
    policy = build_policy(
        origins=calls.origins, methods=methods, headers=headers, credentials=sends
    )
    own = {
        c.url: build_policy(
            origins=calls.origins, methods=c.methods, headers=c.headers, credentials=sends
        )
        for c in calls.calls
    }
    return policy, [c.url for c in calls.calls], list(calls.notes), own
