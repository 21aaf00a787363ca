"""Plumbing for the incident and notification end-to-end tests: the notification sink and the
SMTP sink as processes, the configuration blocks for receivers and routes, and a REST client
that carries the right token. Standard library only; builds on harness.py."""

import email
import email.policy
import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

from harness import ADMIN_TOKEN, RESPONDER_TOKEN, ROOT, Process, bearer, http, wait_for

NOTIFY_SINK = os.path.join(ROOT, "tests", "tools", "notify_sink.py")
SMTP_SINK = os.path.join(ROOT, "tests", "tools", "smtp_sink.py")
# aiosmtpd is a Debian package, installed for the system interpreter only.
SYSTEM_PYTHON = "/usr/bin/python3"
VIEWER_TOKEN = "e2e-viewer-token-" + uuid.uuid4().hex
PD_KEY = uuid.uuid4().hex  # PagerDuty routing keys are 32 characters
HOOK_SECRET = "e2e-hook-secret-" + uuid.uuid4().hex
TOKENS = {"admin": ADMIN_TOKEN, "responder": RESPONDER_TOKEN, "viewer": VIEWER_TOKEN}


def extra_env():
    """Environment for Watchkeeper(..., extra_env=...): the viewer token and the secrets."""
    return {"WK_E2E_VIEWER_TOKEN": VIEWER_TOKEN, "WK_E2E_PD_KEY": PD_KEY,
            "WK_E2E_HOOK_SECRET": HOOK_SECRET}


def now_ms():
    return time.time_ns() // 1_000_000


def rfc3339(ms):
    return datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_2xx(record):
    return 200 <= record["status"] < 300


class NotifySink(Process):
    """tests/tools/notify_sink.py as a process, driven over its /control endpoints."""

    def __init__(self, workdir, name="sink", webhook_secret=HOOK_SECRET):
        self.jsonl = os.path.join(workdir, name + ".jsonl")
        args = [sys.executable, NOTIFY_SINK, "--port", "0", "--log", self.jsonl]
        if webhook_secret is not None:
            args += ["--webhook-secret", webhook_secret]
        super().__init__(args, os.path.join(workdir, name + ".log"))
        line = wait_for(lambda: self._ready_line(), 10, "notify sink ready")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"

    def _ready_line(self):
        if not self.alive():
            raise AssertionError("notify sink exited:\n" + self.output())
        out = self.output()
        if "\n" not in out:
            return None
        first = out.split("\n", 1)[0].split()
        return " ".join(first) if len(first) == 2 and first[0] == "ready" and first[1].isdigit() else None

    def _control(self, path, doc):
        r = http("POST", self.url + path, json.dumps(doc).encode(), {"Content-Type": "application/json"})
        assert r.status == 200, (path, doc, r.status, r.body)

    def fail(self, path_prefix, status, count, retry_after=None):
        doc = {"path_prefix": path_prefix, "status": status, "count": count}
        if retry_after is not None:
            doc["retry_after"] = retry_after
        self._control("/control/fail", doc)

    def slow(self, path_prefix, delay_ms, count):
        self._control("/control/slow", {"path_prefix": path_prefix, "delay_ms": delay_ms, "count": count})

    def reset(self):
        self._control("/control/reset", {})

    def requests(self, since=0, path=None):
        r = http("GET", f"{self.url}/control/requests?since={since}")
        assert r.status == 200, r.body
        records = r.json()["requests"]
        return [x for x in records if path is None or x["path"] == path]

    def errors(self):
        """Every recorded problem: a payload we send that a real receiver would refuse."""
        return [(x["path"], x["errors"]) for x in self.requests() if x["errors"]]

    def wait(self, path, predicate, timeout, what, count=1):
        """The records on `path` satisfying predicate, once there are at least `count`."""
        def enough():
            found = [x for x in self.requests(path=path) if predicate(x)]
            return found if len(found) >= count else None
        return wait_for(enough, timeout, what, interval=0.05)


def pd_action(action):
    return lambda x: is_2xx(x) and (x["json"] or {}).get("event_action") == action


def hook_status(status):
    return lambda x: is_2xx(x) and (x["json"] or {}).get("status") == status


def delivery(record):
    return record["headers"].get("x-watchkeeper-delivery", "")


class SmtpSink(Process):
    """tests/tools/smtp_sink.py (aiosmtpd) on a free port, one file per message in a directory."""

    def __init__(self, workdir, port, name="smtp"):
        if not os.path.exists(SMTP_SINK):
            raise AssertionError(f"{SMTP_SINK} is missing: the SMTP sink is not written yet")
        self.dir = os.path.join(workdir, name + "-mail")
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        super().__init__([SYSTEM_PYTHON, SMTP_SINK, "--port", str(port), "--dir", self.dir],
                         os.path.join(workdir, name + ".log"))
        wait_for(lambda: self._ready(), 15, "smtp sink ready")

    def _ready(self):
        if not self.alive():
            raise AssertionError("smtp sink exited:\n" + self.output())
        return "ready" in self.output()

    def envelopes(self):
        """The SMTP envelope of every message, in arrival order (a message's .json is written
        after its .eml, so a listed one is complete)."""
        out = []
        for name in sorted(n for n in os.listdir(self.dir) if n.endswith(".json")):
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                out.append(json.load(f))
        return out

    def messages(self):
        """The parsed messages, in arrival order."""
        out = []
        for meta in self.envelopes():
            with open(os.path.join(self.dir, meta["data_file"]), "rb") as f:
                out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out


def tokens_yaml():
    return """auth:
  tokens:
    - {name: e2e-admin, role: admin, env: WK_E2E_ADMIN_TOKEN}
    - {name: e2e-responder, role: responder, env: WK_E2E_RESPONDER_TOKEN}
    - {name: e2e-viewer, role: viewer, env: WK_E2E_VIEWER_TOKEN}
"""


def config(services_yaml, extra_yaml="", scrape="1s", health="1s"):
    """A whole configuration: three tokens, fast scrapes and checks, the given services and
    whatever else extra_yaml adds at the top level (incidents, notifications, schedules...)."""
    timeout = "200ms" if scrape.endswith("ms") else "900ms"
    health_timeout = "200ms" if health.endswith("ms") else "900ms"
    return f"""
server:
  listen: "127.0.0.1:@PORT@"
  max_body_bytes: 64KiB
  external_url: "http://wk.example:3006"
database:
  flush_interval: 1s
{tokens_yaml()}
scrape_defaults:
  interval: {scrape}
  timeout: {timeout}
  jitter: false
health_defaults:
  interval: {health}
  timeout: {health_timeout}
  failure_threshold: 1
  success_threshold: 1
{extra_yaml}
services:
{services_yaml}
"""


def service_yaml(name, target, rules, depends_on=(), escalation_policy=None):
    out = f"""
  - name: {name}
    rule_files: [{rules}]
    metrics:
      url: {target.url}/metrics?series=2
    health:
      - name: http
        type: http
        url: {target.url}/health
"""
    if depends_on:
        out += f"    depends_on: [{', '.join(depends_on)}]\n"
    if escalation_policy:
        out += f"    escalation_policy: {escalation_policy}\n"
    return out


def receiver_yaml(name, kind, sink=None, smtp_to="ops@example.com"):
    if kind == "slack":
        return f'    - name: {name}\n      slack: {{url: "{sink.url}/slack/{name}"}}\n'
    if kind == "pagerduty":
        return (f'    - name: {name}\n      pagerduty: {{routing_key: "${{WK_E2E_PD_KEY}}", '
                f'url: "{sink.url}/pagerduty"}}\n')
    if kind == "webhook":
        return (f'    - name: {name}\n      webhook: {{url: "{sink.url}/webhook/{name}", '
                f'secret: "${{WK_E2E_HOOK_SECRET}}"}}\n')
    if kind == "email":
        return f'    - name: {name}\n      email: {{to: ["{smtp_to}"]}}\n'
    raise ValueError(kind)


def notifications_yaml(sink, receivers, routed, smtp_port=None, delivery=None, repeat_interval=None,
                       group_interval=None):
    """receivers: [(name, kind)], all on `sink`; routed: receiver names the route sends every
    alert to (children with continue: true, group_wait 0s, the given repeat and group
    intervals)."""
    out = "notifications:\n"
    if smtp_port is not None:
        out += (f'  smtp: {{url: "smtp://127.0.0.1:{smtp_port}", '
                f'from: "Watchkeeper <wk@example.com>", timeout: 5s}}\n')
    out += "  receivers:\n"
    for name, kind in receivers:
        out += receiver_yaml(name, kind, sink)
    out += f"  route:\n    receiver: {routed[0]}\n    group_wait: 0s\n"
    if repeat_interval is not None:
        out += f"    repeat_interval: {repeat_interval}\n"
    if group_interval is not None:
        out += f"    group_interval: {group_interval}\n"
    out += "    routes:\n"
    for name in routed:
        out += f"      - {{receiver: {name}, continue: true}}\n"
    d = {"timeout": "2s", "initial_backoff": "200ms", "max_backoff": "1s", "give_up_after": "10m"}
    d.update(delivery or {})
    out += "  delivery: {" + ", ".join(f"{k}: {v}" for k, v in d.items()) + "}\n"
    return out


def incidents_yaml(reopen_window="10m", escalation_policy=None):
    out = f"incidents:\n  group_by: []\n  auto_resolve: true\n  reopen_window: {reopen_window}\n"
    if escalation_policy is not None:
        out += f"  escalation_policy: {escalation_policy}\n"
    return out


class Api:
    """REST calls against one Watchkeeper with a role's token (default: responder)."""

    def __init__(self, wk):
        self.url = wk.url

    def call(self, method, path, doc=None, role="responder", raw=None):
        body = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else None)
        headers = {"Content-Type": "application/json"}
        if role is not None:
            headers.update(bearer(TOKENS[role]))
        return http(method, self.url + path, body, headers)

    def ok(self, method, path, doc=None, role="responder", status=200):
        r = self.call(method, path, doc, role)
        assert r.status == status, (method, path, doc, r.status, r.body)
        return r.json()

    def incidents(self, query=""):
        return self.ok("GET", "/api/incidents" + query, role="viewer")

    def incident(self, incident_id):
        return self.ok("GET", f"/api/incidents/{incident_id}", role="viewer")

    def wait_incident(self, query, predicate, timeout, what):
        def found():
            for i in self.incidents(query)["incidents"]:
                if predicate(i):
                    return i
            return None
        return wait_for(found, timeout, what, interval=0.05)


def assert_problem(r, status, *words):
    """A 4xx application/problem+json answer whose detail names every word."""
    assert r.status == status, (status, r.status, r.body)
    assert r.headers.get("content-type", "").startswith("application/problem+json"), r.headers
    doc = r.json()
    detail = doc.get("detail")
    assert isinstance(detail, str) and detail, doc
    assert doc.get("status") in (None, status), doc
    for word in words:
        assert word.lower() in detail.lower(), (word, doc)
    return doc


def timeline_kinds(incident):
    return [e["kind"] for e in incident["timeline"]]


class Rig:
    """Everything one test started, stopped in reverse order however the test ends."""

    def __init__(self):
        self.parts = []

    def add(self, part):
        self.parts.append(part)
        return part

    def close(self):
        for part in reversed(self.parts):
            try:
                if isinstance(part, Process):
                    part.stop()
                else:
                    part.close()
            except Exception as e:  # keep stopping the others
                print(f"cleanup: {e}", file=sys.stderr)
