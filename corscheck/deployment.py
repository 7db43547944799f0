"""What an audited URL stands for: the deployment the browser model judges. PURE.

An `http://` URL on a name that is not potentially trustworthy (a staging host, an in-process app at
http://testserver) stands by default for the same API served over `https://`, the production
deployment: cookies (`Secure`, `SameSite`), mixed content, the Referer and Fetch Metadata are judged
as they are there. The planner, the browser model, the findings and the prover all see that judged
URL; only the wire sees the URL as given (`Wire`). Loopback `http://` (127.0.0.0/8, ::1,
localhost) is potentially trustworthy, so it is judged as it is either way, as is any URL under
`--as-is`.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from corscheck.addresses import address_space


def judged_url(url: str, as_is: bool = False) -> str:
    """The URL the browser model judges for `url`: the https deployment an http URL on a name that
    is not potentially trustworthy stands for, or `url` itself. The port is kept, but http's default
    (80) becomes https's (443)."""
    if as_is:
        return url
    parts = urlsplit(url)
    secure = _SECURE.get(parts.scheme.lower())
    if secure is None or address_space(parts.hostname or "") == "loopback":
        return url
    netloc = parts.netloc
    if parts.port == 80:
        netloc = netloc[: netloc.rindex(":")]
    return urlunsplit((secure, netloc, parts.path, parts.query, parts.fragment))


_SECURE = {"http": "https", "ws": "wss"}  # a ws:// URL stands for the wss:// deployment alike


@dataclass(frozen=True, slots=True)
class Wire:
    """Where the requests of a judged URL really go: the https origin judged and the http origin
    given. Empty (the default) when the URL is judged as it is."""

    judged: str = ""  # "https://host[:port]"
    given: str = ""  # "http://host[:port]"

    @classmethod
    def of(cls, url: str, judged: str) -> Wire:
        if judged == url:
            return cls()
        return cls(_origin(judged), _origin(url))

    def __bool__(self) -> bool:
        return bool(self.judged)

    def outbound(self, url: str) -> str:
        """The URL a request for the judged `url` is sent to."""
        return _swapped(url, self.judged, self.given)

    def inbound(self, location: str) -> str:
        """A Location the server gave, as the judged deployment would give it: an absolute URL on
        the given origin is on the judged one."""
        return _swapped(location, self.given, self.judged)

    def words(self) -> str:
        """What a report says of it."""
        return f"judged as served over https ({self.judged}); the URL audited is {self.given}"


AS_GIVEN = Wire()  # a URL judged as it is


def _origin(url: str) -> str:
    """scheme://host[:port], without userinfo (a masked one included)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.rpartition('@')[2].lower()}"


def _swapped(url: str, source: str, destination: str) -> str:
    if not source or not url.lower().startswith(source):
        return url
    rest = url[len(source) :]
    if rest and rest[0] not in "/?#":
        return url  # another host that only begins alike (host.example vs host.example.org)
    return destination + rest
