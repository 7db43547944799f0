"""The one interface every transport offers the runner (and the OpenAPI reader)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # types only: `corscheck --help` imports this package for RunOptions
    from corscheck.exchange import Request, Response


class Transport(Protocol):
    async def send(self, request: Request) -> Response:
        """One HTTP request; the response head only. Raises TargetError."""

    async def read(self, request: Request, limit: int) -> tuple[Response, bytes]:
        """One HTTP request, and its body up to `limit` bytes (more is a too-large TargetError)."""

    async def aclose(self) -> None: ...
