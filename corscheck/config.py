"""One resolved configuration for a run. PURE: `resolve` takes what the command line gave, the policy
file (already read), the URLs and the OpenAPI routes (already loaded) as plain data and returns one
frozen `AuditConfig`; every caller (the `audit` command, `demo`, the pytest helper, in-process apps)
runs that whole value.

Precedence, for every setting: a flag given on the command line, then the policy file's `[settings]`,
then `DEFAULTS`. "Given" means given: an option the user did not pass arrives as None, never as its
default, so a flag that happens to equal the default still beats the file (ruff's `resolve` overlays
only what the command line set, the same way).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, cast

from corscheck.errors import PolicyError, UsageError
from corscheck.rules import SEVERITIES
from corscheck.transport.options import RunOptions

if TYPE_CHECKING:
    # Types only: the command line imports this module for DEFAULTS at start-up, and resolve()
    # imports what it builds with when it runs.
    from corscheck.gate.suppression import Baseline, Ignore
    from corscheck.headers import HeaderLine
    from corscheck.origins import Depth
    from corscheck.policy import Policy
    from corscheck.policyfile import PolicyFile
    from corscheck.target import Route, Target
    from corscheck.visitor import Visitor
    from corscheck.written import WrittenAllowList

DEPTHS: tuple[Depth, ...] = ("quick", "standard", "thorough")

FailOn = Literal["critical", "high", "medium", "low", "never"]
FAIL_ON_VALUES: tuple[FailOn, ...] = (*SEVERITIES, "never")

_SENDING = RunOptions()

# What a run uses where neither a flag nor the policy file's [settings] says otherwise: the one table.
DEFAULTS: Mapping[str, Any] = {
    "depth": "standard",
    "fail-on": "medium",
    # How requests are sent: the transport's own defaults (transport/options.py).
    "concurrency": _SENDING.concurrency,
    "per-host": _SENDING.per_host,
    "timeout": _SENDING.timeout,
    "rate": _SENDING.rate,
    "jobs": None,  # one worker process per core for a large run (runner/workers.py)
}


# --framework: the layers whose fixes are worded in their own settings (fixes.py).
FRAMEWORKS = (
    "fastapi",
    "starlette",
    "litestar",
    "flask",
    "django",
    "express",
    "spring",
    "nginx",
    "generic",
)

# --jobs by default: a worker process per core for every this many targets (runner/workers.py);
# fewer would spend more on starting it and passing its reports back than it saves.
TARGETS_PER_WORKER = 100


@dataclass(frozen=True, slots=True)
class PolicyFlags:
    """The policy fields given on the command line (empty or None: not given)."""

    origins: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    credentials: bool | None = None
    max_age: int | None = None

    def overrides(self) -> dict[str, object]:
        """The fields to put on top of the policy file's policy."""
        from corscheck.policy import MaxAge

        given: dict[str, object] = {
            "origins": self.origins,
            "methods": self.methods,
            "headers": self.headers,
            "expose": self.expose,
        }
        overrides = {key: list(value) for key, value in given.items() if value}  # type: ignore[call-overload]
        if self.credentials is not None:
            overrides["credentials"] = self.credentials
        if self.max_age is not None:
            overrides["max_age"] = MaxAge(max=self.max_age)
        return overrides


@dataclass(frozen=True, slots=True)
class Flags:
    """What the command line gave. None (or empty) for an option the user did not pass."""

    policy: PolicyFlags = field(default_factory=PolicyFlags)
    depth: Depth | None = None
    fail_on: FailOn | None = None
    concurrency: int | None = None
    per_host: int | None = None
    timeout: float | None = None
    rate: float | None = None
    headers: tuple[HeaderLine, ...] = ()  # -H, sent with every request
    send_unsafe: bool = False
    insecure: bool = False
    proxy: str | None = None
    trust_env: bool = True
    framework: str | None = None
    ignore_rules: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None
    cookies: tuple[str, ...] = ()  # --cookie: Set-Cookie lines of the visitor's cookies
    browsers: tuple[str, ...] = ()  # --browser: the profiles, the first deciding verdicts
    user_agent: str | None = None  # --user-agent: chrome, or a string
    as_is: bool = False  # --as-is: each URL judged as given (deployment.py)
    jobs: int | None = None  # --jobs: worker processes; None: one per core for a large run


def _default_visitor() -> Visitor:
    from corscheck.visitor import Visitor

    return Visitor()


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """Everything one audit run needs, resolved: what to audit, how, and what fails the gate."""

    targets: tuple[Target, ...] = ()
    depth: Depth = DEFAULTS["depth"]
    fail_on: FailOn = DEFAULTS["fail-on"]
    options: RunOptions = field(default_factory=RunOptions)
    extra_headers: tuple[HeaderLine, ...] = ()  # -H and the file's [settings] headers
    framework: str | None = None  # --framework: fixes worded for it; None: recognised per target
    app_framework: str | None = None  # the in-process app's framework, by its class (stack.py)
    warnings: tuple[str, ...] = ()
    policy: Policy | None = None  # the [policy] that applies where no target says otherwise
    policy_source: str | None = None  # the policy file, as shown to the user
    # What the verdicts are judged against, as the report's head says it (policy_statement).
    policy_statement: str = "none: the safe baseline (no crafted origin may read)"
    ignores: tuple[Ignore, ...] = ()
    baseline: Baseline | None = None
    # Whose browser the verdicts are about: profiles and cookies (visitor.py). The default is the
    # logged-in visitor of every profile, holding a placeholder SameSite=None session cookie.
    visitor: Visitor = field(default_factory=_default_visitor)
    # --shard K/N: this run audits share K of N (merge checks that every share came).
    shard: tuple[int, int] | None = None
    # --as-is: each URL judged exactly as given, not as the https deployment it stands for.
    as_is: bool = False
    # --jobs: the worker processes that audit the targets; None: one per core for a large run
    # (runner/workers.py).
    jobs: int | None = None
    # The allow-list as the code writes it (--config-from, --app): its regexes' witnesses are
    # probed, and the deployment is compared with it (written.py).
    written: WrittenAllowList | None = None
    # --config-from on a deployed URL: what the deployment grants beyond `written` is a finding.
    drift: bool = False

    def deployment_statement(self) -> str:
        """What a report's head says of the deployment judged, where any target's URL is http on
        a name that is not potentially trustworthy (deployment.py); empty where none is."""
        from corscheck.deployment import judged_url

        if all(judged_url(t.url) == t.url for t in self.targets):
            return ""
        if self.as_is:
            return "each URL judged as given (--as-is): http:// and ws:// ones as plain"
        return (
            "http:// (and ws://) URLs judged as served over https (wss), the production deployment "
            "they stand for (--as-is judges them as plain http)"
        )

    def secrets(self) -> tuple[str, ...]:
        """Every secret the run holds (in its URLs, -H headers and the visitor's cookies): what
        each report masks, the audit's and the proofs' alike."""
        from corscheck.masking import secrets_in

        return secrets_in((t.url for t in self.targets), self.extra_headers, self.visitor.secrets())


def resolve(
    flags: Flags,
    urls: Sequence[str] = (),
    policy_file: PolicyFile | None = None,
    *,
    routes: Mapping[str, Route] | None = None,
    routes_source: str = "the OpenAPI document",
    baseline: Baseline | None = None,
    shown_policy_path: str | None = None,
) -> AuditConfig:
    """The run's config: `flags` over the policy file's [settings] over DEFAULTS; the targets are
    `urls` (or the routes, or the file's [[targets]]), each with the policy that applies to it.
    `shown_policy_path` is how reports name the policy file (relative to the working directory).
    Raises UsageError or PolicyError."""
    from corscheck.gate.suppression import Ignore, validate_ignore_rule
    from corscheck.shard import shard
    from corscheck.target import SourceLocation, Target

    settings: Mapping[str, Any] = policy_file.settings if policy_file else {}
    shown = shown_policy_path or (policy_file.path if policy_file else None)
    if policy_file is not None and policy_file.placeholder_line and not flags.policy.origins:
        raise PolicyError(
            f"{shown}:{policy_file.placeholder_line}: this [policy] is corscheck init's template: "
            "list your front-ends in origins, then delete 'placeholder = true'",
            key="placeholder",
        )

    overrides = flags.policy.overrides()
    top = _effective_policy(policy_file.policy if policy_file else None, overrides)
    per_url = {t.url: t for t in policy_file.targets} if policy_file and not routes else {}
    target_urls = list(routes) if routes else (list(urls) or list(per_url))
    if flags.shard is not None:
        # An empty share is fine: its report has no targets, and merge joins it like the others.
        target_urls = shard(target_urls, *flags.shard)
    targets = []
    for url in target_urls:
        declared = per_url.get(url)
        policy = _effective_policy(declared.policy, overrides) if declared else top
        route = routes.get(url) if routes else None
        if route is not None and top is not None:
            # The policy says which origins and whether credentials; each route, which methods and
            # headers its calls need.
            policy = route_policy(top, route)
        line = declared.line if declared else None
        if declared is None and policy_file is not None and policy_file.policy is not None:
            line = policy_file.policy_line
        # 1-based; a line the file does not show is no location.
        source = SourceLocation(shown, line) if shown and line and policy_file else None
        targets.append(Target(url, policy, source, route))
    extra_headers = (*settings.get("headers", ()), *flags.headers)
    visitor = resolve_visitor(flags, policy_file)
    if any(n.lower() == "cookie" for n, _ in extra_headers):
        visitor = replace(visitor, bypassed=True)
    if visitor.user_agent and not any(n.lower() == "user-agent" for n, _ in extra_headers):
        extra_headers += (("User-Agent", visitor.user_agent),)
    ignores = [*(policy_file.ignores if policy_file else ())]
    ignores += [
        Ignore(validate_ignore_rule(rule), "ignored on the command line", "--ignore")
        for rule in dict.fromkeys(flags.ignore_rules)
    ]
    return AuditConfig(
        targets=tuple(targets),
        depth=cast("Depth", _setting(flags.depth, settings, "depth")),
        fail_on=cast(FailOn, _setting(flags.fail_on, settings, "fail-on")),
        options=resolve_options(flags, policy_file),
        extra_headers=extra_headers,
        framework=flags.framework,
        warnings=tuple(dict.fromkeys(w for t in targets if t.policy for w in t.policy.warnings)),
        policy=top,
        policy_source=shown,
        policy_statement=policy_statement(
            policy_file, shown, bool(overrides), routes_source if routes else ""
        ),
        ignores=tuple(ignores),
        baseline=baseline,
        visitor=visitor,
        as_is=flags.as_is or bool(settings.get("as-is", False)),
        shard=flags.shard,
        jobs=_setting(flags.jobs, settings, "jobs"),
    )


def resolve_visitor(flags: Flags, policy_file: PolicyFile | None = None) -> Visitor:
    """Whose browser the run is about: the flags' cookies, browsers and User-Agent over the policy
    file's [settings] (whose cookies come from the environment, already read). Raises UsageError."""
    from corscheck.visitor import parse_cookie, parse_profile, user_agent_of, visitor_of

    settings: Mapping[str, Any] = policy_file.settings if policy_file else {}
    cookies = (
        tuple(parse_cookie(text) for text in flags.cookies)
        if flags.cookies
        else tuple(settings.get("cookies", ()))
    )
    browsers = flags.browsers or tuple(settings.get("browsers", ()))
    user_agent = flags.user_agent or settings.get("user-agent")
    return visitor_of(
        cookies,
        tuple(parse_profile(name) for name in browsers),
        user_agent_of(user_agent) if user_agent else None,
    )


def policy_statement(
    policy_file: PolicyFile | None, shown: str | None, flags_given: bool, routes: str
) -> str:
    """Where the policy of the run comes from, in a report's words."""
    if policy_file is not None and (policy_file.policy is not None or policy_file.targets):
        table = "[policy]" if policy_file.policy is not None else "[[targets]]"
        line = f", line {policy_file.policy_line}" if policy_file.policy_line else ""
        source = f"{shown} ({table}{line})" + (
            " with command-line flags on top" if flags_given else ""
        )
    elif flags_given:
        source = "command-line flags"
    else:
        return "none: the safe baseline (no crafted origin may read)"
    return source + (f", narrowed per route by {routes}" if routes else "")


def route_policy(policy: Policy, route: Route) -> Policy:
    """The policy of one route: the policy's origins, credentials and allow-lists, and as the
    front-end's requests the methods and headers the route's calls need (narrowed to the policy's
    lists where it has them). Cookie authentication turns credentials on, unless the policy is
    public (browsers refuse credentials with "*")."""
    methods = tuple(m for m in route.methods if policy.allows_method(m))
    headers = tuple(h for h in route.headers if policy.allows_header(h))
    return replace(
        policy,
        credentials=policy.credentials or (route.cookie_auth and not policy.is_public),
        sends_methods=methods,
        sends_headers=headers,
    )


def resolve_options(flags: Flags, policy_file: PolicyFile | None = None) -> RunOptions:
    """How the run sends requests: `flags` over the policy file's [settings] over DEFAULTS."""
    settings: Mapping[str, Any] = policy_file.settings if policy_file else {}
    return RunOptions(
        concurrency=_setting(flags.concurrency, settings, "concurrency"),
        per_host=_setting(flags.per_host, settings, "per-host"),
        timeout=_setting(flags.timeout, settings, "timeout"),
        rate=_setting(flags.rate, settings, "rate"),
        send_unsafe=flags.send_unsafe,
        insecure=flags.insecure,
        proxy=flags.proxy,
        trust_env=flags.trust_env,
    )


def _setting(flag: Any, settings: Mapping[str, Any], key: str) -> Any:
    """The flag when given, else the file's setting, else the default."""
    return flag if flag is not None else settings.get(key, DEFAULTS[key])


def _effective_policy(base: Policy | None, overrides: dict[str, object]) -> Policy | None:
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
        if error.key != "credentials":
            raise
        # Said in the words the user wrote: flags where they gave the value, TOML where the file did.
        star = "--allow-origin '*'" if "origins" in overrides else 'origins = ["*"]'
        with_credentials = "--credentials" if "credentials" in overrides else "credentials = true"
        turn_off = (
            "pass --no-credentials" if "credentials" in overrides else "set credentials = false"
        )
        raise PolicyError(
            f"{star} with {with_credentials} is refused by every browser; list the origins that "
            f"need credentials, or {turn_off}",
            key="credentials",
        ) from None
