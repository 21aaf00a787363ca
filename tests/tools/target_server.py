#!/usr/bin/env python3
"""A scrape and probe target for Watchkeeper's tests: threaded HTTP(S), standard library only.

    python3 target_server.py --port 0 --port-file /tmp/port [--tls-cert C --tls-key K]

Endpoints:
  GET  /metrics?series=N   Prometheus text; values change on every request; gzip when accepted
  GET  /health             200 "ok", or 503 "down" while failing
  POST /control/fail       start failing (/metrics answers 500, /health 503)
  POST /control/recover    stop failing
  GET  /control/stats      JSON: failing, connections accepted, requests per path
  GET  /slow?ms=N          answers after N ms
  GET  /huge               endless chunked body until the client goes away
  GET  /trickle?n=N        declares N bytes (default 3600) and sends one byte a second
  ANY  /status/N           answers with status N (3xx carry Location: /health)
  GET  /bytes?n=N          N bytes of a repeating 64-character alphabet; gzip when accepted
  GET  /headers?count=N&size=M  N filler headers of M bytes each, then "ok"
  ANY  /echo               JSON of the request: method, path, query, headers, body
"""

import argparse
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ALPHABET = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/"
STREAM_CHUNK = 64 * 1024
MAX_SERIES = 1_000_000
MAX_BYTES = 1 << 32
MAX_SLOW_MS = 600_000
MAX_TRICKLE_BYTES = 86_400
MAX_HEADER_COUNT = 100_000
MAX_HEADER_SIZE = 16_384
MAX_REQUEST_BODY = 10 << 20
TLS_HANDSHAKE_TIMEOUT_S = 10
IDLE_KEEPALIVE_TIMEOUT_S = 120

# The client went away: every streaming endpoint stops quietly on these.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, socket.timeout,
               ssl.SSLError)


class BadRequest(Exception):
    pass


class TargetState:
    def __init__(self):
        self.lock = threading.Lock()
        self.failing = False
        self.connections = 0
        self.scrapes = 0
        self.requests = {}

    def count_request(self, path):
        with self.lock:
            self.requests[path] = self.requests.get(path, 0) + 1

    def count_connection(self):
        with self.lock:
            self.connections += 1

    def next_scrape(self):
        with self.lock:
            self.scrapes += 1
            return self.scrapes, self.failing

    def set_failing(self, failing):
        with self.lock:
            self.failing = failing

    def is_failing(self):
        with self.lock:
            return self.failing

    def snapshot(self):
        with self.lock:
            return {"failing": self.failing, "connections": self.connections,
                    "scrapes": self.scrapes, "requests": dict(self.requests)}


def int_param(query, name, default, low, high):
    values = query.get(name)
    if not values:
        return default
    try:
        value = int(values[0])
    except ValueError:
        raise BadRequest(f"{name} must be an integer") from None
    if value < low or value > high:
        raise BadRequest(f"{name} must be between {low} and {high}")
    return value


def accepts_gzip(header):
    for item in (header or "").split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() != "gzip":
            continue
        params = params.replace(" ", "").lower()
        if params.startswith("q="):
            try:
                return float(params[2:]) > 0
            except ValueError:
                return False
        return True
    return False


def metrics_text(scrape, series):
    lines = [
        "# HELP target_up Whether the target considers itself healthy.",
        "# TYPE target_up gauge",
        "target_up 1",
        "# HELP target_scrapes_total Scrapes served by this target.",
        "# TYPE target_scrapes_total counter",
        f"target_scrapes_total {scrape}",
        "# HELP target_series_value A synthetic value per series that changes on every scrape.",
        "# TYPE target_series_value gauge",
    ]
    lines.extend(f'target_series_value{{series="{i}"}} {(scrape * 31 + i * 17) % 1000 + 0.5}'
                 for i in range(series))
    return ("\n".join(lines) + "\n").encode()


def pattern_bytes(offset, length):
    start = offset % len(ALPHABET)
    repeats = (start + length) // len(ALPHABET) + 1
    return (ALPHABET * repeats)[start:start + length]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wk-target/1"
    timeout = IDLE_KEEPALIVE_TIMEOUT_S
    # Headers and body go out in separate writes; with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms per response on keep-alive connections).
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def do_OPTIONS(self):
        self.dispatch()

    @property
    def state(self):
        return self.server.state

    def dispatch(self):
        try:
            body = self.read_request_body()
            if body is None:
                return
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            self.state.count_request(url.path)
            route = ROUTES.get(url.path)
            if route is None and url.path.startswith("/status/"):
                route = (None, Handler.status)
            if route is None:
                self.send_simple(404, b"not found\n")
                return
            methods, action = route
            if methods is not None and self.command not in methods:
                self.send_simple(405, b"method not allowed\n", [("Allow", ", ".join(methods))])
                return
            action(self, url, query, body)
        except BadRequest as error:
            self.send_simple(400, f"{error}\n".encode())
        except CLIENT_GONE:
            self.close_connection = True

    def read_request_body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.send_simple(411, b"chunked request bodies are not supported\n")
            return None
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            self.send_simple(400, b"malformed Content-Length\n")
            return None
        if length > MAX_REQUEST_BODY:
            self.close_connection = True
            self.send_simple(413, b"request body too large\n")
            return None
        return self.rfile.read(length) if length else b""

    def send_simple(self, status, body, extra_headers=(), content_type="text/plain; charset=utf-8",
                    compress=False):
        headers = list(extra_headers)
        if compress and accepts_gzip(self.headers.get("Accept-Encoding")):
            body = gzip_bytes(body)
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        self.send_response(status)
        if status not in (204, 304):
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_chunks(self):
        self.wfile.write(b"0\r\n\r\n")

    def metrics(self, url, query, body):
        series = int_param(query, "series", 10, 0, MAX_SERIES)
        scrape, failing = self.state.next_scrape()
        if failing:
            self.send_simple(500, b"target is failing\n")
            return
        self.send_simple(200, metrics_text(scrape, series),
                         content_type="text/plain; version=0.0.4; charset=utf-8", compress=True)

    def health(self, url, query, body):
        if self.state.is_failing():
            self.send_simple(503, b"down")
        else:
            self.send_simple(200, b"ok")

    def control_fail(self, url, query, body):
        self.state.set_failing(True)
        self.send_simple(200, b'{"failing":true}\n', content_type="application/json")

    def control_recover(self, url, query, body):
        self.state.set_failing(False)
        self.send_simple(200, b'{"failing":false}\n', content_type="application/json")

    def control_stats(self, url, query, body):
        self.send_simple(200, json.dumps(self.state.snapshot()).encode(),
                         content_type="application/json")

    def slow(self, url, query, body):
        delay_ms = int_param(query, "ms", 1000, 0, MAX_SLOW_MS)
        time.sleep(delay_ms / 1000)
        self.send_simple(200, b"slow\n")

    def huge(self, url, query, body):
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if self.command == "HEAD":
            return
        block = pattern_bytes(0, STREAM_CHUNK)
        while True:
            self.send_chunk(block)

    def trickle(self, url, query, body):
        length = int_param(query, "n", 3600, 1, MAX_TRICKLE_BYTES)
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.flush()
        for _ in range(length):
            self.wfile.write(b"x")
            self.wfile.flush()
            time.sleep(1)

    def status(self, url, query, body):
        try:
            code = int(url.path[len("/status/"):])
        except ValueError:
            raise BadRequest("status must be an integer") from None
        if code < 200 or code > 599:
            raise BadRequest("status must be between 200 and 599")
        headers = [("Location", "/health")] if 300 <= code < 400 else []
        self.send_simple(code, f"status {code}\n".encode(), headers)

    def bytes_(self, url, query, body):
        length = int_param(query, "n", 1024, 0, MAX_BYTES)
        gzipped = accepts_gzip(self.headers.get("Accept-Encoding"))
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if gzipped:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        if self.command == "HEAD":
            return
        compressor = zlib.compressobj(6, zlib.DEFLATED, 31) if gzipped else None
        offset = 0
        while offset < length:
            block = pattern_bytes(offset, min(STREAM_CHUNK, length - offset))
            offset += len(block)
            if compressor is None:
                self.wfile.write(block)
            else:
                packed = compressor.compress(block)
                if packed:
                    self.send_chunk(packed)
        if compressor is not None:
            self.send_chunk(compressor.flush())
            self.end_chunks()

    def many_headers(self, url, query, body):
        count = int_param(query, "count", 10, 0, MAX_HEADER_COUNT)
        size = int_param(query, "size", 100, 1, MAX_HEADER_SIZE)
        filler = "f" * size
        self.send_response(200)
        for i in range(count):
            self.send_header(f"X-Filler-{i}", filler)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "2")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(b"ok")

    def echo(self, url, query, body):
        document = {
            "method": self.command,
            "path": url.path,
            "query": url.query,
            "headers": [[name, value] for name, value in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        }
        self.send_simple(200, json.dumps(document).encode(), content_type="application/json")


def gzip_bytes(data):
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


READ = ("GET", "HEAD")
ROUTES = {
    "/metrics": (READ, Handler.metrics),
    "/health": (READ, Handler.health),
    "/control/fail": (("POST",), Handler.control_fail),
    "/control/recover": (("POST",), Handler.control_recover),
    "/control/stats": (READ, Handler.control_stats),
    "/slow": (READ, Handler.slow),
    "/huge": (READ, Handler.huge),
    "/trickle": (READ, Handler.trickle),
    "/bytes": (READ, Handler.bytes_),
    "/headers": (READ, Handler.many_headers),
    "/echo": (None, Handler.echo),
}


class TargetServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Hundreds of clients connect at once in the concurrency tests; the default backlog of 5
    # would turn that into SYN retries measured in seconds.
    request_queue_size = 4096

    def __init__(self, address, tls_context):
        self.state = TargetState()
        self.tls_context = tls_context
        super().__init__(address, Handler)

    def finish_request(self, request, client_address):
        # Runs on the connection's own thread, so a slow TLS handshake never blocks accept().
        self.state.count_connection()
        if self.tls_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(TLS_HANDSHAKE_TIMEOUT_S)
        with self.tls_context.wrap_socket(request, server_side=True) as tls_request:
            super().finish_request(tls_request, client_address)

    def handle_error(self, request, client_address):
        pass


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Watchkeeper test target server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", help="write the bound port to this file")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    return args


def write_port_file(path, port):
    # Written under a temporary name and renamed, so a reader never sees a partial number.
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as out:
        out.write(f"{port}\n")
    os.replace(temporary, path)


def main(argv):
    args = parse_args(argv)
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    server = TargetServer((args.host, args.port), tls_context)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:
        write_port_file(args.port_file, server.server_address[1])
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
