"""Deterministic shares of the targets, so CI matrix jobs (GitHub Actions, GitLab `parallel:`) can each
audit a part of a large URL list; `corscheck merge` joins their reports. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from corscheck.errors import UsageError


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` → (K, N), 1 ≤ K ≤ N, numbered from 1 like GitLab's CI_NODE_INDEX. Raises UsageError."""
    try:
        k_text, n_text = text.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard {text!r} must be K/N, e.g. 2/4") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text!r}: K must be between 1 and N")
    return k, n


def in_shard(url: str, k: int, n: int) -> bool:
    """Whether `url` belongs to share K of N.

    By a hash of the URL alone, so a URL's share depends neither on the order of the input, nor on the
    other URLs, nor on the machine or Python's hash seed: every job computes the same split.
    """
    digest = hashlib.sha256(url.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % n == k - 1


def shard(urls: Sequence[str], k: int, n: int) -> list[str]:
    """The URLs of share K of N, in their input order."""
    return [url for url in urls if in_shard(url, k, n)]
