"""Output formats. Each format is one module exposing `render(report) -> str`; this table maps format
names and file extensions to them. Adding a format is one module and one line here."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from corscheck.errors import UsageError

if TYPE_CHECKING:
    from corscheck.report.model import Report

FORMATS: dict[str, str] = {
    "console": "corscheck.report.console",
    "json": "corscheck.report.json",
    "sarif": "corscheck.report.sarif",
    "junit": "corscheck.report.junit",
    "markdown": "corscheck.report.markdown",
    "github": "corscheck.report.github",
    "html": "corscheck.report.html",
}
EXTENSIONS: dict[str, str] = {
    ".json": "json",
    ".txt": "console",
    ".sarif": "sarif",
    ".xml": "junit",
    ".md": "markdown",
    ".html": "html",
}


def renderer(name: str) -> Callable[[Report], str]:
    """The render function of a format, imported only when used."""
    if name not in FORMATS:
        raise UsageError(f"unknown format {name!r}; choose one of {', '.join(FORMATS)}")
    module = importlib.import_module(FORMATS[name])
    render: Callable[[Report], str] = module.render
    return render


def format_for_path(path: str) -> str:
    """The format an output path asks for by its extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in EXTENSIONS:
        known = ", ".join(EXTENSIONS)
        raise UsageError(
            f"cannot tell the format of {path!r} from its extension; use one of {known}"
        )
    return EXTENSIONS[suffix]
