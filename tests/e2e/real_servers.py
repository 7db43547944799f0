"""Real web servers and forward proxies on loopback ports, started from generated configurations.

Each web server serves one intended policy (`POLICY`: origin https://app.example.com, methods GET and
PUT, request header Content-Type, credentials) twice: correctly, and broken the classic way (any
origin reflected, with credentials). Each runs over HTTP and HTTPS (a trustme certificate for
127.0.0.1). The proxies are tinyproxy (optionally requiring Basic credentials) and squid. Every
binary is the system's (Debian packages; express from tests/node by `npm ci`); a missing one skips
the tests that need it and says why. Processes bind 127.0.0.1 only and are always killed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

ALLOWED = "https://app.example.com"
# The intended policy, as audit flags.
POLICY = [
    "--allow-origin",
    ALLOWED,
    "--allow-method",
    "GET",
    "--allow-method",
    "PUT",
    "--allow-header",
    "Content-Type",
    "--credentials",
]
NODE_DIR = Path(__file__).resolve().parent.parent / "node"


@dataclass(frozen=True)
class Site:
    """One server software serving the policy: base URLs of each configuration and scheme."""

    name: str
    good: str
    broken: str
    good_tls: str
    broken_tls: str

    def url(self, config: str, scheme: str) -> str:
        return {
            ("good", "http"): self.good,
            ("broken", "http"): self.broken,
            ("good", "https"): self.good_tls,
            ("broken", "https"): self.broken_tls,
        }[(config, scheme)]


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA's certificate: SSL_CERT_FILE for corscheck
    cert: Path  # the server's chain
    key: Path


def binary(name: str, *candidates: str) -> str:
    """The path of a server binary, or skip the test with the reason."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
        if found:
            return found
    pytest.skip(f"{name} is not installed (apt-get install {name}; .ci/run installs it)")


def free_ports(count: int) -> list[int]:
    """Loopback ports free right now (bound and released; the server binds them next)."""
    sockets = []
    for _ in range(count):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    ports = [s.getsockname()[1] for s in sockets]
    for sock in sockets:
        sock.close()
    return ports


def workdir() -> Path:
    """A scratch directory other users can enter: servers started as root drop privileges."""
    path = Path(tempfile.mkdtemp(prefix="corscheck-real-"))
    path.chmod(0o777)
    return path


@contextmanager
def running(
    argv: Sequence[str], ports: Sequence[int], cwd: Path, env: dict[str, str] | None = None
) -> Iterator[None]:
    """Runs `argv` until the block ends; ready when every port accepts connections (bounded wait)."""
    log = (cwd / "output.log").open("wb")
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    try:
        for _ in range(300):  # up to 15 s
            if process.poll() is not None:
                break
            if all(_accepts(port) for port in ports):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"{argv[0]} did not open {list(ports)} in time")
        if process.poll() is not None:
            output = (cwd / "output.log").read_text(errors="replace")[-2000:]
            raise AssertionError(f"{argv[0]} exited with {process.returncode}:\n{output}")
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 15)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)
                process.wait(timeout=10)
        log.close()
        shutil.rmtree(cwd, ignore_errors=True)


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def certificates(directory: Path) -> Certificates:
    import trustme

    ca = trustme.CA()
    issued = ca.issue_cert("127.0.0.1", "localhost")
    paths = Certificates(directory / "ca.pem", directory / "cert.pem", directory / "key.pem")
    ca.cert_pem.write_to_path(str(paths.ca))
    issued.private_key_pem.write_to_path(str(paths.key))
    paths.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    for path in (paths.ca, paths.cert, paths.key):
        path.chmod(0o644)
    return paths


def _site(name: str, ports: Sequence[int]) -> Site:
    good, broken, good_tls, broken_tls = ports
    return Site(
        name,
        f"http://127.0.0.1:{good}/api/items",
        f"http://127.0.0.1:{broken}/api/items",
        f"https://127.0.0.1:{good_tls}/api/items",
        f"https://127.0.0.1:{broken_tls}/api/items",
    )


# --- web servers ---------------------------------------------------------------------------------

_NGINX_SERVER = """
  server {{
    listen 127.0.0.1:{port}{ssl};
    {certificates}
    location / {{
      add_header Vary Origin always;
      if ($request_method = OPTIONS) {{
        add_header Vary Origin always;
        add_header Access-Control-Allow-Origin ${prefix}_origin always;
        add_header Access-Control-Allow-Credentials ${prefix}_credentials always;
        add_header Access-Control-Allow-Methods ${prefix}_methods always;
        add_header Access-Control-Allow-Headers ${prefix}_headers always;
        add_header Access-Control-Max-Age ${prefix}_max_age always;
        return 204;
      }}
      add_header Access-Control-Allow-Origin ${prefix}_origin always;
      add_header Access-Control-Allow-Credentials ${prefix}_credentials always;
      return 200 "ok\\n";
    }}
  }}
"""


def nginx_prelude(directory: Path) -> str:
    """The start of an nginx configuration that runs unprivileged in `directory`, in the
    foreground; the `http {` block it opens is the caller's to fill and close."""
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {directory}/body;
  proxy_temp_path {directory}/proxy;
  fastcgi_temp_path {directory}/fastcgi;
  uwsgi_temp_path {directory}/uwsgi;
  scgi_temp_path {directory}/scgi;"""


@contextmanager
def nginx(certs: Certificates) -> Iterator[Site]:
    exe = binary("nginx", "/usr/sbin/nginx")
    directory = workdir()
    ports = free_ports(4)
    tls = f"ssl_certificate {certs.cert}; ssl_certificate_key {certs.key};"
    servers = "".join(
        _NGINX_SERVER.format(
            port=port,
            ssl=" ssl" if secure else "",
            certificates=tls if secure else "",
            prefix=prefix,
        )
        for port, secure, prefix in zip(
            ports, (False, False, True, True), ("good", "broken") * 2, strict=True
        )
    )
    # An empty value makes nginx leave the header out: only the allowed origin gets CORS headers.
    config = f"""
{nginx_prelude(directory)}
  map $http_origin $good_origin {{ "{ALLOWED}" $http_origin; default ""; }}
  map $good_origin $good_credentials {{ "" ""; default "true"; }}
  map $good_origin $good_methods {{ "" ""; default "GET, PUT"; }}
  map $good_origin $good_headers {{ "" ""; default "Content-Type"; }}
  map $good_origin $good_max_age {{ "" ""; default "600"; }}
  map $http_origin $broken_origin {{ default $http_origin; }}
  map $http_origin $broken_credentials {{ "" ""; default "true"; }}
  map $http_origin $broken_methods {{ "" ""; default "GET, PUT"; }}
  map $http_origin $broken_headers {{ "" ""; default "Content-Type"; }}
  map $http_origin $broken_max_age {{ "" ""; default "600"; }}
{servers}
}}
"""
    (directory / "nginx.conf").write_text(config)
    with running(
        [exe, "-c", str(directory / "nginx.conf"), "-p", str(directory)], ports, directory
    ):
        yield _site("nginx", ports)


_APACHE_POLICY = {
    "good": f"req('Origin') == '{ALLOWED}'",
    "broken": "-n req('Origin')",
}


@contextmanager
def apache(certs: Certificates) -> Iterator[Site]:
    exe = binary("apache2", "/usr/sbin/apache2")
    modules = Path("/usr/lib/apache2/modules")
    directory = workdir()
    (directory / "www").mkdir()
    (directory / "www" / "ok.txt").write_text("ok\n")
    (directory / "www").chmod(0o755)
    (directory / "www" / "ok.txt").chmod(0o644)
    ports = free_ports(4)
    hosts = []
    for port, secure, config in zip(
        ports, (False, False, True, True), ("good", "broken") * 2, strict=True
    ):
        allowed = _APACHE_POLICY[config]
        preflight = f"%{{REQUEST_METHOD}} == 'OPTIONS' && {allowed}"
        tls = (
            f"SSLEngine on\n  SSLCertificateFile {certs.cert}\n  SSLCertificateKeyFile {certs.key}"
            if secure
            else ""
        )
        hosts.append(
            f"""
Listen 127.0.0.1:{port}
<VirtualHost 127.0.0.1:{port}>
  {tls}
  DocumentRoot {directory}/www
  RewriteEngine on
  RewriteCond %{{REQUEST_METHOD}} OPTIONS
  RewriteRule ^ - [R=204,L]
  RewriteRule ^ /ok.txt [L]
  Header always set Vary Origin
  Header always set Access-Control-Allow-Origin "expr=%{{req:Origin}}" "expr={allowed}"
  Header always set Access-Control-Allow-Credentials true "expr={allowed}"
  Header always set Access-Control-Allow-Methods "GET, PUT" "expr={preflight}"
  Header always set Access-Control-Allow-Headers Content-Type "expr={preflight}"
  Header always set Access-Control-Max-Age 600 "expr={preflight}"
</VirtualHost>
"""
        )
    loads = "\n".join(
        f"LoadModule {name}_module {modules}/mod_{name}.so"
        for name in ("mpm_event", "authz_core", "headers", "rewrite", "ssl")
    )
    config = f"""
ServerRoot {directory}
ServerName localhost
{loads}
PidFile {directory}/httpd.pid
DefaultRuntimeDir {directory}
ErrorLog {directory}/error.log
LogLevel warn
User www-data
Group www-data
<Directory {directory}/www>
  Require all granted
</Directory>
{"".join(hosts)}
"""
    (directory / "httpd.conf").write_text(config)
    with running([exe, "-f", str(directory / "httpd.conf"), "-DFOREGROUND"], ports, directory):
        yield _site("apache", ports)


@contextmanager
def caddy(certs: Certificates) -> Iterator[Site]:
    exe = binary("caddy")
    directory = workdir()
    ports = free_ports(4)
    sites = []
    for port, secure, config in zip(
        ports, (False, False, True, True), ("good", "broken") * 2, strict=True
    ):
        origin = f"header Origin {ALLOWED}" if config == "good" else "header Origin *"
        scheme = "https" if secure else "http"
        tls = f"tls {certs.cert} {certs.key}" if secure else ""
        sites.append(
            f"""
{scheme}://127.0.0.1:{port} {{
  bind 127.0.0.1
  {tls}
  @cors {origin}
  @preflight {{
    method OPTIONS
    {origin}
  }}
  header Vary Origin
  header @cors Access-Control-Allow-Origin {{http.request.header.Origin}}
  header @cors Access-Control-Allow-Credentials true
  header @preflight Access-Control-Allow-Methods "GET, PUT"
  header @preflight Access-Control-Allow-Headers Content-Type
  header @preflight Access-Control-Max-Age 600
  @options method OPTIONS
  respond @options 204
  respond "ok" 200
}}
"""
        )
    config = f"""{{
  admin off
  auto_https disable_redirects
  skip_install_trust
  storage file_system {directory}/storage
  log {{
    output discard
  }}
}}
{"".join(sites)}
"""
    (directory / "Caddyfile").write_text(config)
    env = {
        "XDG_DATA_HOME": str(directory),
        "XDG_CONFIG_HOME": str(directory),
        "HOME": str(directory),
    }
    argv = [exe, "run", "--config", str(directory / "Caddyfile"), "--adapter", "caddyfile"]
    with running(argv, ports, directory, env):
        yield _site("caddy", ports)


@contextmanager
def express(certs: Certificates) -> Iterator[Site]:
    node = binary("node", "nodejs")
    if not (NODE_DIR / "node_modules" / "express").is_dir():
        pytest.skip("express is not installed: run `npm ci` in tests/node (.ci/run does)")
    directory = workdir()
    ports = free_ports(4)
    argv = [
        node,
        str(NODE_DIR / "cors_server.js"),
        *map(str, ports),
        str(certs.cert),
        str(certs.key),
    ]
    with running(argv, ports, directory):
        yield _site("express", ports)


WEB_SERVERS = {"nginx": nginx, "apache": apache, "caddy": caddy, "express": express}


# --- forward proxies -----------------------------------------------------------------------------


@contextmanager
def tinyproxy(credentials: tuple[str, str] | None = None) -> Iterator[str]:
    """tinyproxy on a loopback port; with `credentials`, it requires them (Basic). Yields its URL
    without the credentials."""
    exe = binary("tinyproxy", "/usr/bin/tinyproxy", "/usr/sbin/tinyproxy")
    directory = workdir()
    (port,) = free_ports(1)
    auth = f"BasicAuth {credentials[0]} {credentials[1]}" if credentials else ""
    config = f"""
User nobody
Group nogroup
Port {port}
Listen 127.0.0.1
Timeout 10
MaxClients 64
LogLevel Error
Allow 127.0.0.1
{auth}
"""
    (directory / "tinyproxy.conf").write_text(config)
    with running([exe, "-d", "-c", str(directory / "tinyproxy.conf")], [port], directory):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def squid() -> Iterator[str]:
    exe = binary("squid", "/usr/sbin/squid")
    directory = workdir()
    (port,) = free_ports(1)
    config = f"""
http_port 127.0.0.1:{port}
acl loopback src 127.0.0.1/32
http_access allow loopback
http_access deny all
cache deny all
cache_mem 8 MB
pid_filename {directory}/squid.pid
cache_log {directory}/cache.log
access_log none
coredump_dir {directory}
visible_hostname corscheck-test
shutdown_lifetime 0 seconds
connect_timeout 5 seconds
"""
    (directory / "squid.conf").write_text(config)
    with running([exe, "-N", "-f", str(directory / "squid.conf")], [port], directory):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def everything(certs: Certificates, names: Sequence[str]) -> Iterator[dict[str, Site]]:
    with ExitStack() as stack:
        yield {name: stack.enter_context(WEB_SERVERS[name](certs)) for name in names}
