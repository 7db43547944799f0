"""A policy written as a policy file: the [policy] table that loads back to a Policy, and the
commented file `corscheck init` writes (policyfile.py reads them). PURE."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from corscheck.masking import mask_url
from corscheck.policy import Policy

if TYPE_CHECKING:
    from corscheck.config import AuditConfig


def _toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(v) for v in values) + "]"


def toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def policy_table(policy: Policy) -> list[str]:
    """The lines of a [policy] table that loads back to `policy`."""
    lines = [f"origins = {_toml_list(policy.origins)}"]
    if policy.methods is not None:
        lines.append(f"methods = {_toml_list(list(policy.methods))}")
    if policy.headers is not None:
        lines.append(f"headers = {_toml_list(policy.headers)}")
    if policy.expose:
        lines.append(f"expose = {_toml_list(policy.expose)}")
    lines.append(f"credentials = {'true' if policy.credentials else 'false'}")
    if policy.max_age is not None:
        parts = [
            f"{k} = {v}"
            for k, v in (("min", policy.max_age.min), ("max", policy.max_age.max))
            if v is not None
        ]
        lines.append("max-age = { " + ", ".join(parts) + " }" if parts else "max-age = {}")
    if policy.private_network:
        lines.append("private-network = true")
    return lines


TEMPLATE_HEAD = """\
# corscheck policy: the CORS behaviour this API is meant to have.
# `corscheck audit` reads it from here; `corscheck rules` explains every finding.
#
# origins          exact origins ("https://app.example.com"), subdomain patterns
#                  ("https://*.example.com"), or ["*"] for a public API (then credentials = false)
# methods          methods the front-end sends, e.g. ["GET", "POST", "PUT"]; each is probed with
#                  every header below, as the front-end sends it
# headers          request headers the front-end sets beyond the safelisted ones
# expose           response headers the front-end must be able to read
# credentials      whether the front-end sends cookies or HTTP authentication
# max-age          bounds for Access-Control-Max-Age, in seconds
# private-network  whether public origins may reach this API on a private network
"""


def render_policy_file(
    policy: Policy,
    targets: Sequence[str] = (),
    pyproject: bool = False,
    placeholder: bool = False,
    *,
    comments: Sequence[str] = (),
    target_policies: Mapping[str, Policy] | None = None,
) -> str:
    """A commented policy file (or a [tool.corscheck] block) that loads back to `policy`; with
    `placeholder`, marked as the template that `audit` refuses until it is edited. `comments` go
    above the [policy] table; a target of `target_policies` gets the methods and headers of its
    policy inline where they differ from `policy`'s."""
    prefix = "tool.corscheck." if pyproject else ""
    noted = [f"# {part}" for line in comments for part in textwrap.wrap(line, 96)]
    out = [TEMPLATE_HEAD, *noted, f"[{prefix}policy]"]
    if placeholder:
        out += [
            "# The origins below are examples. List your front-ends, then delete the next line:",
            "# until then `corscheck audit` refuses to judge against this template.",
            "placeholder = true",
        ]
    out += policy_table(policy)
    for url in targets:
        out += ["", f"[[{prefix}targets]]", f"url = {toml_string(url)}"]
        own = (target_policies or {}).get(url)
        if own is not None:
            inline = [
                f"{key} = {_toml_list(list(mine))}"
                for key, mine, top in (
                    ("methods", own.methods, policy.methods),
                    ("headers", own.headers, policy.headers),
                )
                if mine is not None and mine != top
            ]
            if inline:
                out.append("policy = { " + ", ".join(inline) + " }")
    out += [
        "",
        *(
            re.sub(r"^# \[(\[?)", lambda m: f"# [{m[1]}{prefix}", line)
            for line in TEMPLATE_TAIL.splitlines()
        ),
    ]
    return "\n".join(out) + "\n"


TEMPLATE_TAIL = """\
# [[targets]]                       # URLs audited when none is given on the command line
# url = "https://api.example.com/v1/users"
# policy = { origins = ["*"], credentials = false }   # a per-target override of [policy]
#
# [settings]
# depth = "standard"                # quick | standard | thorough
# fail-on = "medium"                # critical | high | medium | low | never
# headers = { Authorization = "env:API_TOKEN" }   # secrets come from the environment, never the file
# cookies = ["env:SESSION_COOKIE"]  # the visitor's cookies: Set-Cookie lines, from the environment
# browsers = ["chrome"]             # chrome | chrome-no-3pc | firefox | safari; the first decides
"""


def effective_policies(config: AuditConfig, fmt: str) -> str:
    """The [policy] that applies where no target says otherwise, then each target's that differs:
    as a policy file would write them (TOML), or with `-f json` as JSON."""
    targets = [(mask_url(t.url), t.policy) for t in config.targets]
    if fmt == "json":
        document = {
            "source": config.policy_statement,
            "policy": config.policy.to_dict() if config.policy else None,
            "targets": [{"url": url, "policy": p.to_dict() if p else None} for url, p in targets],
        }
        return json.dumps(document, indent=2)
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
    return "\n".join(lines)
