"""Headless Chromium for the proofs, driven through Playwright (corscheck[prove]) and pointed at the
system's Chromium or Chrome.

The browser is fenced in by its host resolver, not by Playwright's request interception (which
answers CORS preflights itself and would falsify every proof): each evidence origin's host:port maps
to the page server, each target's to itself, and every other name to NOTFOUND, so nothing else is
reachable. Its profile is a fresh directory whose Default/Preferences allows or blocks third-party
cookies as the browser profile says; the visitor's cookies go into its jar before any page loads.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from corscheck.errors import ProofError, UsageError
from corscheck.headers import HeaderLine
from corscheck.prove.closing import Closing
from corscheck.transport.proxy import Proxy, ProxyRoutes
from corscheck.visitor import Cookie, Profile

# The names Chromium and Chrome are installed under (Debian, Ubuntu, Fedora, Google's packages).
BROWSER_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "chromium-freeworld",
)
# Chromium's own switch for third-party cookies: what its settings page writes.
THIRD_PARTY_COOKIES: dict[Profile, dict[str, Any]] = {
    "chrome": {"cookie_controls_mode": 0, "block_third_party_cookies": False},
    "chrome-no-3pc": {"cookie_controls_mode": 1, "block_third_party_cookies": True},
}
_QUIET = (
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",  # the audit speaks HTTP/1.1 and the page server has no QUIC
    # A sandboxed iframe in its own process (IsolateSandboxedIframes) attaches to the driver late,
    # and its first request can go unreported; in the page's process every request is seen.
    # HttpsUpgrades: a page on http://host (a scheme-downgrade origin) would load as https://host
    # where the page server answers both; an attacker on the network makes the https try fail, so
    # the proof's http page stays http, as the attacker's does.
    "--disable-features=DnsOverHttps,IsolateSandboxedIframes,HttpsUpgrades",
    # A page mapped to loopback fetching a loopback or private API would wait for a Local Network
    # Access prompt no one answers; the finding already says when the visitor must grant one.
    "--enable-features=LocalNetworkAccessChecks:LocalNetworkAccessChecksWarn/true",
)
PAGE_WAIT_SECONDS = 25.0  # a page's fetch() aborts itself after 15 s (pages.py)
EVENT_WAITS = 20  # times 50 ms: how long a block's console message or a request is waited for


def find_browser(path: str | None) -> str:
    """The Chromium to drive: `path` (--browser-path), or the first of BROWSER_NAMES on PATH.
    Raises UsageError (exit 2) when there is none, or when Playwright is not installed."""
    if path:
        found = shutil.which(path)
        if found is None:
            raise UsageError(f"--browser-path {path!r}: no such executable")
    else:
        found = next((f for name in BROWSER_NAMES if (f := shutil.which(name))), None)
        if found is None:
            raise UsageError(
                "--prove needs Chromium or Chrome: none on PATH (looked for "
                f"{', '.join(BROWSER_NAMES)}); install one or give --browser-path"
            )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        raise UsageError(
            "--prove drives the browser with Playwright: pip install 'corscheck[prove]'"
        ) from None
    return found


def host_rules(pages: dict[str, int], targets: Sequence[str]) -> str:
    """Chromium's --host-resolver-rules: each page host:port to the page server's port, each target
    (and proxy) host:port to itself, everything else to nowhere."""
    rules = [f"MAP {where} 127.0.0.1:{port}" for where, port in pages.items()]
    rules += [f"MAP {where} {where}" for where in dict.fromkeys(targets) if where not in pages]
    return ", ".join([*rules, "MAP * ~NOTFOUND"])


@dataclass(frozen=True, slots=True)
class BrowserSetup:
    executable: str
    profile: Profile
    host_rules: str
    spki: tuple[str, ...]  # certificates accepted by their key alone: the pages', a target's
    cookies: tuple[tuple[str, Cookie], ...] = ()  # (the URL it was set by, the cookie)
    proxy: ProxyRoutes = field(default_factory=ProxyRoutes)
    direct: tuple[str, ...] = ()  # hosts that go around the proxy: the pages', NO_PROXY's


@dataclass(frozen=True, slots=True)
class PageVisit:
    """What a page reported (None: it reported nothing in time) and the console meanwhile."""

    result: dict[str, Any] | None
    console: tuple[str, ...]
    shown: str = ""  # what the page shows a reader (a PoC's result box)
    # The Cookie line of the watched request ("" without one); None when its request was not seen.
    cookie: str | None = None


class Chromium(Closing):
    """One headless Chromium in one profile; stopped, and its profile deleted, on leaving `with`."""

    def __init__(self, setup: BrowserSetup) -> None:
        from playwright.sync_api import sync_playwright

        self._folder = tempfile.TemporaryDirectory(prefix="corscheck-profile-")
        default = Path(self._folder.name) / "Default"
        default.mkdir()
        preferences = {"profile": THIRD_PARTY_COOKIES[setup.profile]}
        (default / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")
        args = [*_QUIET, f"--host-resolver-rules={setup.host_rules}"]
        if setup.spki:
            args.append(f"--ignore-certificate-errors-spki-list={','.join(setup.spki)}")
        # Chromium never proxies loopback by itself; the audit does (unless NO_PROXY says so).
        # First: of the rules that match, Chromium follows the last.
        direct = ("<-loopback>", *setup.direct)
        args += _proxy_args(setup.proxy, direct)
        self._playwright = sync_playwright().start()
        try:
            self._context = _launch(self._playwright, self._folder.name, setup, args, direct)
            # One page stays open for the browser's whole life: closing its last window ends the
            # browsing session, and the visitor's session cookies with it.
            pages = self._context.pages
            self._keeper = pages[0] if pages else self._context.new_page()
            self._context.add_cookies([_cookie(url, c) for url, c in setup.cookies])
            self.version = _version(self._context, self._keeper, setup.executable)
        except BaseException:
            self._playwright.stop()
            self._folder.cleanup()
            raise

    def visit(self, url: str, watched: str = "", headers: tuple[HeaderLine, ...] = ()) -> PageVisit:
        """Loads the page at `url` and waits, bounded, for the result it reports; `watched` is the
        URL whose request (not a preflight) the Cookie line is read from, as the browser sent it.
        `headers` (the run's -H) go on every request of the page, preflights included, as the
        audit sent them."""
        page = self._context.new_page()
        if headers:
            page.set_extra_http_headers(dict(headers))
        console: list[str] = []
        requests: list[Any] = []
        lock = threading.Lock()

        def heard(message: Any) -> None:
            with lock:
                console.append(str(message.text))

        def sent(request: Any) -> None:
            # Only watched: Playwright sees the request without intercepting it.
            if watched and request.url == watched and request.method != "OPTIONS":
                with lock:
                    requests.append(request)

        page.on("console", heard)
        page.on("request", sent)
        try:
            page.goto(url, timeout=PAGE_WAIT_SECONDS * 1000)
            page.wait_for_function(
                "window.corscheckResult !== undefined", timeout=PAGE_WAIT_SECONDS * 1000
            )
            result = page.evaluate("window.corscheckResult")
            shown = str(page.evaluate("document.getElementById('corscheck-result').textContent"))
            # The console message of a block, and the request event of the fetch(), may come a
            # moment after the result reaches the page: each is waited for, a bounded while, only
            # where there is one to come.
            for _ in range(EVENT_WAITS):
                with lock:
                    if result.get("resolved"):
                        done = bool(requests) or not watched
                    else:
                        done = bool(console)
                if done:
                    break
                page.wait_for_timeout(50)
            cookie = _cookie_line(requests)
        except Exception as error:  # Playwright's TimeoutError and its Error share no base
            if type(error).__name__ not in ("TimeoutError", "Error"):
                raise
            result, shown, cookie = None, "", None
        finally:
            with lock:
                heard_so_far = tuple(console)
            page.close()
        return PageVisit(result, heard_so_far, shown, cookie)

    def close(self) -> None:
        try:
            self._context.close()
        finally:
            self._playwright.stop()
            self._folder.cleanup()


def _cookie_line(requests: list[Any]) -> str | None:
    """The Cookie line of the last watched request, as it went on the wire (Playwright reads it
    from the network layer's own record)."""
    if not requests:
        return None
    headers: dict[str, str] = requests[-1].all_headers()
    return headers.get("cookie", "")


def _cookie(url: str, cookie: Cookie) -> Any:
    """A visitor's cookie as Playwright sets it: host-only on the URL's host unless it has a Domain."""
    entry: dict[str, Any] = {
        "name": cookie.name,
        "value": cookie.value,
        "path": cookie.path,
        "secure": cookie.secure,
        "httpOnly": False,
        "sameSite": cookie.same_site.capitalize(),
    }
    if cookie.domain:
        entry["domain"] = "." + cookie.domain
    else:
        entry["domain"] = urlsplit(url).hostname or ""
    return entry


def _version(context: Any, page: Any, executable: str) -> str:
    """ "Chromium 156.0.7523.0" (or "Chrome …"), as the browser reports itself."""
    session = context.new_cdp_session(page)
    try:
        product = str(session.send("Browser.getVersion")["product"])
    finally:
        session.detach()
    version = product.rpartition("/")[2]
    name = (
        "Chrome"
        if "chrome" in Path(executable).name and "chromium" not in executable
        else "Chromium"
    )
    return f"{name} {version}"


def _proxy_args(routes: ProxyRoutes, direct: Sequence[str]) -> list[str]:
    """A proxy per scheme, where the audit's two differ (Playwright's option takes one)."""
    if routes.http == routes.https:
        return []
    parts = [
        f"{scheme}={proxy.where}"
        for scheme, proxy in (("http", routes.http), ("https", routes.https))
        if proxy
    ]
    return [f"--proxy-server={';'.join(parts)}", f"--proxy-bypass-list={';'.join(direct)}"]


def _playwright_proxy(routes: ProxyRoutes, direct: Sequence[str]) -> Any:
    proxy: Proxy | None = routes.http
    if proxy is None or routes.http != routes.https:
        return None
    option = {"server": f"http://{proxy.where}", "bypass": ",".join(direct)}
    if proxy.authorization:
        import base64

        user, _, password = (
            base64.b64decode(proxy.authorization.split(" ", 1)[1]).decode().partition(":")
        )
        option |= {"username": user, "password": password}
    return option


def _launch(
    playwright: Any, folder: str, setup: BrowserSetup, args: list[str], direct: tuple[str, ...]
) -> Any:
    """The persistent browser context; ProofError when the browser does not start (a wrapper that
    is no Chromium, a snap that cannot run here), in one line."""
    try:
        return playwright.chromium.launch_persistent_context(
            folder,
            executable_path=setup.executable,
            headless=True,
            args=args,
            chromium_sandbox=False,
            proxy=_playwright_proxy(setup.proxy, direct),
            timeout=30_000,
        )
    except Exception as error:  # Playwright's Error and TimeoutError share no base
        first = next((line for line in str(error).splitlines() if line.strip()), "")
        raise ProofError(
            f"the browser at {setup.executable} did not start: {first.strip()[:200]}"
        ) from None
