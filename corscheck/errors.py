"""The one exception family. The core raises these; only the commands (commands/edge.py) turn them into a message and exit code."""

from __future__ import annotations

from typing import Literal

ErrorKind = Literal[
    "timeout",
    "connect",
    "tls",
    "protocol",
    "redirect",
    "too-large",
    "input",
    "proxy",
    "app",
    "status",
    "rate-limited",
]


class CorscheckError(Exception):
    """Base of every error corscheck reports to the user as one line, with an optional hint line."""

    hint: str | None = None

    def __init__(self, *args: object, hint: str | None = None) -> None:
        super().__init__(*args)
        self.hint = hint


class UsageError(CorscheckError):
    """Bad command-line input: a URL, origin, header or option value. Exit code 2."""


class ProofError(CorscheckError):
    """The browser of --prove could not be driven (it would not start): the audit stands unproved."""


class PolicyError(CorscheckError):
    """A policy file or policy option that cannot be used. Exit code 2.

    `key` names the policy field at fault (origins, methods, headers, expose, credentials, max-age):
    the policy file points at its line, the command line words the message in flags."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.message = message
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")


class TargetError(CorscheckError):
    """A target that could not be audited (unreachable, TLS, timeout, broken server). Exit code 3."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        self.kind: ErrorKind = kind
        super().__init__(message)


class PolicyProblems(PolicyError):
    """Every problem of one policy file, each with its line: a line of the message each."""

    def __init__(self, problems: list[PolicyError]) -> None:
        self.problems = tuple(problems)
        first = self.problems[0]
        super().__init__("", file=first.file, line=first.line)
        self.args = ("\n".join(str(problem) for problem in self.problems),)

    def __str__(self) -> str:
        return str(self.args[0])
