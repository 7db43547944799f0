"""Where a URL's host lies for the browser: its Local Network Access address space, and whether an
https page may fetch it (mixed content). PURE."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

AddressSpace = Literal["public", "local", "loopback"]

_SHARED_ADDRESSES = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: local to LNA


@lru_cache(maxsize=1024)
def address_space(host: str) -> AddressSpace:
    """The LNA address space of a target host: loopback (127.0.0.0/8, ::1, localhost), local
    (private, link-local and unique-local ranges, .local names) or public."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return "local" if name.endswith(".local") else "public"
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local or address in _SHARED_ADDRESSES:
        return "local"
    return "public"


# The host httpx gives an in-process app when no --base-url says where it is deployed: its http
# stands for the https deployment (deployment.py).
IN_PROCESS_HOST = "testserver"


@lru_cache(maxsize=4096)
def blocked_as_mixed_content(page_origin: str, url: str) -> bool:
    """Whether a page on `page_origin` may not fetch `url` at all: an https page's request to an
    http URL whose host is not potentially trustworthy (loopback addresses, localhost and
    *.localhost), blocked before any CORS check, redirects included. An opaque (null) page is not
    judged: an attacker serves it from whichever scheme works."""
    if not page_origin.startswith("https://"):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    host = (parts.hostname or "").lower()
    return parts.scheme.lower() == "http" and address_space(host) != "loopback"
