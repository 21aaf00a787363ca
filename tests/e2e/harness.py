"""Shared plumbing for the end-to-end tests: real processes (the watchkeeper binary, PostgreSQL,
node_exporter, the target server), free ports, HTTP and SQL helpers. Standard library only."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("WK_BINARY", os.path.join(ROOT, "build", "app", "watchkeeper"))
TARGET_SERVER = os.path.join(ROOT, "tests", "tools", "target_server.py")
PG_SCRIPT = os.path.join(ROOT, "scripts", "pg_cluster.sh")
ADMIN_TOKEN = "e2e-admin-token-" + uuid.uuid4().hex
RESPONDER_TOKEN = "e2e-responder-token-" + uuid.uuid4().hex


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ExitedEarly(AssertionError):
    """A process that should be serving has exited: waiting longer cannot help."""


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except ExitedEarly:
            raise
        except Exception as e:  # the thing may not be up yet
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


def http(method, url, body=None, headers=None, timeout=10):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())


def bearer(token):
    return {"Authorization": "Bearer " + token}


class Database:
    """A scratch database on the test PostgreSQL (WK_TEST_DATABASE_URL), dropped at close."""

    def __init__(self, base_url=None):
        base = base_url or os.environ.get("WK_TEST_DATABASE_URL")
        if not base:
            raise SystemExit("WK_TEST_DATABASE_URL is not set: run the tests through scripts/test.sh")
        self.server = base.rsplit("/", 1)[0]
        self.name = "wk_e2e_" + uuid.uuid4().hex[:12]
        self.psql("postgres", f"CREATE DATABASE {self.name}")
        self.url = f"{self.server}/{self.name}"

    def psql(self, db, sql):
        out = subprocess.run(["psql", f"{self.server}/{db}", "-v", "ON_ERROR_STOP=1", "-AtqX", "-c", sql],
                             capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def query(self, sql):
        return self.psql(self.name, sql)

    def close(self):
        try:
            self.psql("postgres", f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")
        except Exception:
            pass


class PrivateCluster:
    """A PostgreSQL cluster of this test's own, for tests that stop and start the server."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "pg")
        self.port = free_port()
        self.start()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/watchkeeper"

    def start(self):
        subprocess.run([PG_SCRIPT, "start", self.dir, str(self.port), "--fast"], check=True,
                       capture_output=True, timeout=120)

    def stop(self):
        subprocess.run([PG_SCRIPT, "stop", self.dir], check=False, capture_output=True, timeout=120)


class Process:
    def __init__(self, args, log_path, env=None):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env)

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class TargetServer(Process):
    """tests/tools/target_server.py: /metrics, /health, /control/fail|recover and hostile modes."""

    def __init__(self, workdir, name="target"):
        port_file = os.path.join(workdir, name + ".port")
        super().__init__([sys.executable, TARGET_SERVER, "--port", "0", "--port-file", port_file],
                         os.path.join(workdir, name + ".log"))
        self.port = int(wait_for(lambda: open(port_file).read().strip(), 10, "target server port"))
        self.url = f"http://127.0.0.1:{self.port}"

    def fail(self):
        assert http("POST", self.url + "/control/fail", b"").status == 200

    def recover(self):
        assert http("POST", self.url + "/control/recover", b"").status == 200


class NodeExporter(Process):
    def __init__(self, workdir):
        self.port = free_port()
        super().__init__(["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{self.port}"],
                         os.path.join(workdir, "node_exporter.log"))
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: http("GET", self.url + "/metrics").status == 200, 20, "node_exporter")


class Watchkeeper(Process):
    def __init__(self, workdir, config_text, database_url, name="watchkeeper", extra_env=None):
        self.port = free_port()
        self.config_path = os.path.join(workdir, name + ".yaml")
        self.write_config(config_text)
        env = dict(os.environ)
        env["WATCHKEEPER_DATABASE_URL"] = database_url
        env["WK_E2E_ADMIN_TOKEN"] = ADMIN_TOKEN
        env["WK_E2E_RESPONDER_TOKEN"] = RESPONDER_TOKEN
        env.update(extra_env or {})
        super().__init__([BINARY, "serve", "--config", self.config_path],
                         os.path.join(workdir, name + ".log"), env)
        self.url = f"http://127.0.0.1:{self.port}"
        wait_for(lambda: self.alive() and http("GET", self.url + "/-/ready").status == 200 or
                 (not self.alive() and self._died()), 30, "watchkeeper ready")

    def _died(self):
        raise ExitedEarly("watchkeeper exited early:\n" + self.output())

    def stop(self):
        """SIGTERM, and the process must be gone within 20 s: a hang at shutdown is a bug."""
        hung = False
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                hung = True
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if hung:
            raise AssertionError("watchkeeper did not exit within 20 s of SIGTERM:\n" +
                                 self.output()[-2000:])

    def write_config(self, config_text):
        # Replace the file atomically: a reload must never read it half written.
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(config_text.replace("@PORT@", str(self.port)))
        os.replace(tmp, self.config_path)

    def services(self):
        return {s["name"]: s for s in http("GET", self.url + "/api/services").json()["services"]}


def base_config(services_yaml, flush="1s"):
    return f"""
server:
  listen: "127.0.0.1:@PORT@"
  max_body_bytes: 64KiB
database:
  flush_interval: {flush}
auth:
  tokens:
    - name: e2e-admin
      role: admin
      env: WK_E2E_ADMIN_TOKEN
    - name: e2e-responder
      role: responder
      env: WK_E2E_RESPONDER_TOKEN
scrape_defaults:
  interval: 1s
  timeout: 900ms
health_defaults:
  interval: 1s
  timeout: 900ms
  failure_threshold: 1
  success_threshold: 1
services:
{services_yaml}
"""


def write_rules(workdir, text):
    """A rule file in the work directory; returns its path."""
    path = os.path.join(workdir, "rules.yml")
    with open(path, "w") as f:
        f.write(text)
    return path


def ruled_service_yaml(name, target, rules, series=3):
    """A service scraping the test target, with an HTTP check of it and its own rule file."""
    return f"""
  - name: {name}
    rule_files: [{rules}]
    metrics:
      url: {target.url}/metrics?series={series}
    health:
      - name: http
        type: http
        url: {target.url}/health
"""


class Workdir:
    def __enter__(self):
        self.path = tempfile.mkdtemp(prefix="wk-e2e-")
        return self.path

    def __exit__(self, *exc):
        if exc[0] is None or not os.environ.get("WK_KEEP_E2E"):
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            print(f"kept {self.path}", file=sys.stderr)


def run_tests(tests):
    """Runs test functions; prints one line per test and the closing 'N passed, N failed' line."""
    passed = failed = 0
    for t in tests:
        started = time.time()
        try:
            t()
            passed += 1
            print(f"PASS {t.__name__} ({time.time() - started:.1f}s)", flush=True)
        except Exception as e:  # report and go on with the others
            failed += 1
            import traceback
            traceback.print_exc()
            print(f"FAIL {t.__name__}: {e}", flush=True)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
