"""The pages a proof plays and a triager opens: one self-contained HTML document per fetch(). PURE.

The same page serves both. `--prove` loads it on the evidence origin in headless Chromium and reads
what it read from `window.corscheckResult`; `--poc DIR` writes it to a file with instructions for a
triager, who serves it on that origin and opens it while logged in. A `null` origin is a sandboxed
iframe (no allow-same-origin), which posts its result to the page holding it.

Nothing of the run's secrets is written by this module's callers into a PoC: the cookie comes from
the triager's own browser.
"""

from __future__ import annotations

import html
import json

from corscheck.prove.replay import BODY_LIMIT, PageStep

# How long a page's fetch() may take before it aborts itself (the driver waits a little longer).
FETCH_TIMEOUT_MS = 15_000
SOCKET_WATCH_MS = (
    600  # an opened socket is watched this long for an immediate close, as the audit does
)

# Runs the fetch() of `spec`, reads at most spec.limit body bytes and reports what it saw to
# `done(result)`. A rejected fetch() is a TypeError whose text says nothing (the browser's reason
# is only in its console); a header that is not exposed reads as null.
_REPLAY_JS = """
async function corscheckReplay(spec, done) {
  const result = {resolved: false, status: null, bytes: 0, text: "", headers: [], error: ""};
  try {
    const headers = new Headers();
    for (const [name, value] of spec.headers) headers.append(name, value);
    const response = await fetch(spec.url, {
      method: spec.method, headers, credentials: spec.credentials, mode: spec.mode,
      cache: "no-store", redirect: "follow", signal: AbortSignal.timeout(spec.timeout)});
    result.resolved = true;
    result.status = response.type === "opaque" ? null : response.status;
    for (const name of spec.read) result.headers.push([name, response.headers.get(name)]);
    if (response.body) {
      const reader = response.body.getReader();
      const chunks = [];
      while (result.bytes < spec.limit) {
        const {done: end, value} = await reader.read();
        if (end) break;
        chunks.push(value);
        result.bytes += value.length;
      }
      reader.cancel().catch(() => {});
      const all = new Uint8Array(result.bytes);
      let at = 0;
      for (const chunk of chunks) { all.set(chunk, at); at += chunk.length; }
      result.bytes = Math.min(result.bytes, spec.limit);
      result.text = new TextDecoder().decode(all.subarray(0, Math.min(result.bytes, 4096)));
    }
  } catch (error) {
    result.error = String(error);
  }
  done(result);
}
"""

# Opens `new WebSocket(spec.url)` and reports as the fetch replay does: resolved when the socket
# opened and was not closed at once with a refusing code (1003, 1008, 4000-4999); its first message
# read if one comes within the watch; then closed with 1000. It never sends anything on the socket.
_SOCKET_JS = """
function corscheckSocket(spec, done) {
  const result = {resolved: false, status: null, bytes: 0, text: "", headers: [], error: ""};
  let finished = false;
  const finish = () => { if (!finished) { finished = true; done(result); } };
  let socket;
  try {
    socket = new WebSocket(spec.url);
  } catch (error) {
    result.error = String(error);
    return finish();
  }
  socket.onopen = () => {
    result.resolved = true;
    result.status = 101;
    setTimeout(() => { socket.close(1000); finish(); }, spec.watch);
  };
  socket.onmessage = (event) => {
    if (result.text) return;
    result.text = typeof event.data === "string" ? event.data.slice(0, 4096) : "(binary)";
    result.bytes = typeof event.data === "string" ? event.data.length : 0;
  };
  socket.onclose = (event) => {
    if (event.code === 1003 || event.code === 1008 || (event.code >= 4000 && event.code <= 4999)) {
      result.resolved = false;
      result.error = "the server closed the socket at once with code " + event.code;
    } else if (!result.resolved) {
      result.error = "WebSocket connection failed (code " + event.code + ")";
    }
    finish();
  };
  setTimeout(() => { if (!result.resolved) result.error = result.error || "no answer"; finish(); },
             spec.timeout);
}
"""

_SHOW_JS = """
function corscheckShow(result) {
  window.corscheckResult = result;
  const out = document.getElementById("corscheck-result");
  if (!out) return;
  out.textContent = result.resolved
    ? "READ: status " + result.status + ", " + result.bytes + " bytes\\n\\n" + result.text
      + result.headers.map(([n, v]) => "\\n" + n + ": " + v).join("")
    : "BLOCKED: " + result.error + "\\n(the browser's console says why)";
}
"""


def page(step: PageStep, *, title: str = "corscheck proof", intro: str = "") -> str:
    """The HTML page that makes `step`'s fetch() when it loads; `intro` is HTML shown above the
    result (a PoC's instructions)."""
    spec = {
        "url": step.url,
        "method": step.method,
        "headers": [list(line) for line in step.headers],
        "credentials": step.credentials,
        "mode": step.mode,
        "read": list(step.read_headers),
        "limit": BODY_LIMIT,
        "timeout": FETCH_TIMEOUT_MS,
    }
    if step.socket:
        spec["watch"] = SOCKET_WATCH_MS
    spec_json = _script_safe(json.dumps(spec))
    replay_js, replay = (
        (_SOCKET_JS, "corscheckSocket") if step.socket else (_REPLAY_JS, "corscheckReplay")
    )
    if step.origin == "null":
        # The fetch() runs in a sandboxed iframe (an opaque origin, so Origin: null) and posts its
        # result up; the page only shows it.
        inner = (
            f"<!doctype html><script>{replay_js}\n"
            f"{replay}({spec_json}, r => parent.postMessage({{corscheck: r}}, '*'));"
            "</script>"
        )
        runner = (
            'window.addEventListener("message", e => { if (e.data && e.data.corscheck) '
            "corscheckShow(e.data.corscheck); });"
        )
        frame = (
            f'<iframe sandbox="allow-scripts" hidden srcdoc="{html.escape(inner, quote=True)}">'
            "</iframe>"
        )
    else:
        runner = f"{replay_js}\n{replay}({spec_json}, corscheckShow);"
        frame = ""
    return (
        # The icon link keeps the browser from asking the page's origin for /favicon.ico.
        '<!doctype html>\n<html><head><meta charset=utf-8><link rel="icon" href="data:,">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font:14px/1.5 system-ui,sans-serif;margin:2em;max-width:60em}"
        "pre{background:#f4f4f4;padding:1em;white-space:pre-wrap;word-break:break-all}</style>"
        f"</head><body>{intro}"
        + (
            f"<p>new WebSocket({html.escape(step.url)})</p>"
            if step.socket
            else f"<p>{html.escape(step.method)} {html.escape(step.url)} · credentials "
            f"{html.escape(step.credentials)}</p>"
        )
        + '<pre id="corscheck-result">running…</pre>'
        f"{frame}<script>{_SHOW_JS}\n{runner}</script></body></html>\n"
    )


def _script_safe(text: str) -> str:
    """JSON that cannot end the <script> it sits in: no `<`, so no `</script` and no `<!--` (the
    srcdoc attribute around an iframe's script is escaped whole, html.escape)."""
    return text.replace("<", "\\u003c")
