"""Headless Chromium for the browser comparisons (test_chromium.py, test_chromium_findings.py).

Playwright is imported by the caller (`pytest.importorskip`), so this module imports without it.
"""

from __future__ import annotations

from typing import Any

from tests.required import find_chromium

# None when no Chromium is on PATH: the tests that use it then skip, or fail under
# CORSCHECK_REQUIRE_BROWSER=1 (tests/required.py).
CHROMIUM = find_chromium()

# Every host name resolves to 127.0.0.1, so a page or an API on any made-up host is reachable.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * 127.0.0.1",
]

# fetch() from a page: the promise resolves (the page can read) or rejects with a TypeError. `read`
# names response headers the page then tries to read (null when they are not exposed to it). A fetch
# that hangs is aborted after 15 s (a TimeoutError, which no case expects).
FETCH_JS = """async ([url, method, headers, credentials, read = []]) => {
  try {
    const h = new Headers();
    for (const [n, v] of headers) h.append(n, v);
    const r = await fetch(url, {method, headers: h, credentials, mode: "cors", cache: "no-store",
                             signal: AbortSignal.timeout(15000)});
    const values = {};
    for (const name of read) values[name] = r.headers.get(name);
    return {ok: true, detail: String(r.status), read: values};
  } catch (e) {
    return {ok: false, detail: String(e), read: {}};
  }
}"""


def launch(sync_api: Any, extra_args: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Starts Playwright and CHROMIUM; returns (playwright, browser). Stop both after."""
    assert CHROMIUM is not None, "the caller checks for Chromium first"
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*LAUNCH_ARGS, *extra_args]
        )
    except BaseException:
        playwright.stop()
        raise
    return playwright, browser


PAGE_PATH = "/corscheck-page"
NULL_PARENT = "https://sandbox-parent.example"  # the page that holds the sandboxed iframe
_PAGE = "<!doctype html><title>corscheck replay</title>"
_NULL_PAGE = _PAGE + '<iframe sandbox="allow-scripts" srcdoc="<p>opaque</p>"></iframe>'


def frame_on(page: Any, origin: str) -> Any:
    """A frame of `page` whose origin is `origin` ("null": a sandboxed iframe), served by
    Playwright for that one URL and then left alone, so that fetch() meets the real server."""
    url = (NULL_PARENT if origin == "null" else origin) + PAGE_PATH
    body = _NULL_PAGE if origin == "null" else _PAGE

    def only_the_page(candidate: str) -> bool:
        return candidate == url

    page.route(
        only_the_page,
        lambda route: route.fulfill(status=200, content_type="text/html", body=body),
    )
    page.goto(url)
    # While a route is set Playwright intercepts every request and answers CORS preflights
    # itself; with none left it stops intercepting, and fetch() meets the app unaided.
    page.unroute(only_the_page)
    if origin != "null":
        return page.main_frame
    page.wait_for_function("document.querySelector('iframe').contentDocument === null")
    return next(f for f in page.frames if f != page.main_frame)
