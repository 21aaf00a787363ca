#!/usr/bin/env python3
"""A notification receiver for Watchkeeper's tests: Slack, PagerDuty and the generic webhook on
one threaded HTTP server (standard library only). It checks every payload against the field
lists of shared/reference/payloads.md on receipt and records what it saw.

    python3 notify_sink.py --port 0 --log F [--webhook-secret S]   prints "ready <port>"
    python3 notify_sink.py --self-test                             exercises the sink itself

Receiver paths (POST, application/json):
  /slack/<name>      Slack incoming webhook: `text` and `blocks` within Slack's limits
  /pagerduty         PagerDuty Events API v2 (trigger | acknowledge | resolve)
  /webhook/<name>    Alertmanager webhook v4 body; with --webhook-secret, a valid
                     X-Watchkeeper-Signature = sha256=hex(HMAC(S, body)) and
                     X-Watchkeeper-Timestamp-Signature = sha256=hex(HMAC(S, "<timestamp>.<body>"))
An invalid payload is answered 400 with the problems (as Slack and PagerDuty do); every request
is recorded with its problems under "errors". Records go to memory and, one JSON object a line,
to the --log file.

Control:
  POST /control/fail {"path_prefix","status":400..599,"count":N,"retry_after":"2"}
                     answer that status to the next N requests under path_prefix
  POST /control/slow {"path_prefix","delay_ms","count"}   delay the next N answers
  GET  /control/requests?since=I   {"requests":[records with index >= I],"next":I'}
  POST /control/reset              forget requests and rules (indices keep counting)
Each record: index, mono_ns, wall_ns (time.monotonic_ns / time.time_ns at receipt), method,
path, kind (slack|pagerduty|webhook|unknown), name, headers, body, json, errors, status (the
answer given), delay_ms.
"""

import argparse
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 4 << 20
PAGERDUTY_MAX_BODY = 512 * 1024
MAX_RULE_COUNT = 1_000_000
MAX_DELAY_MS = 600_000
SIGNATURE_MAX_SKEW_S = 300
SLACK_MAX_BLOCKS = 50
SLACK_LIMITS = {"header": 150, "section": 3000}
SLACK_FIELD_LIMIT = 2000
PAGERDUTY_SEVERITIES = ("critical", "error", "warning", "info")
PAGERDUTY_ACTIONS = ("trigger", "acknowledge", "resolve")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def is_rfc3339(value):
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_string_map(value):
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def check_slack(doc, errors):
    text = doc.get("text")
    if not isinstance(text, str) or not text:
        errors.append("slack: text must be a non-empty string")
    blocks = doc.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        errors.append("slack: blocks must be a non-empty list")
        return
    if len(blocks) > SLACK_MAX_BLOCKS:
        errors.append(f"slack: {len(blocks)} blocks, at most {SLACK_MAX_BLOCKS} allowed")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"slack: blocks[{i}] must be an object with a string type")
            continue
        kind = block["type"]
        if kind in SLACK_LIMITS:
            body = block.get("text")
            if body is not None or kind == "header":
                if not isinstance(body, dict) or not isinstance(body.get("text"), str) \
                        or body.get("type") not in ("plain_text", "mrkdwn"):
                    errors.append(f"slack: blocks[{i}].text must be a text object")
                elif len(body["text"]) > SLACK_LIMITS[kind]:
                    errors.append(f"slack: blocks[{i}].text longer than {SLACK_LIMITS[kind]}")
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list) or len(fields) > 10:
                    errors.append(f"slack: blocks[{i}].fields must be a list of at most 10")
                else:
                    for j, field in enumerate(fields):
                        if not isinstance(field, dict) or not isinstance(field.get("text"), str):
                            errors.append(f"slack: blocks[{i}].fields[{j}] must be a text object")
                        elif len(field["text"]) > SLACK_FIELD_LIMIT:
                            errors.append(f"slack: blocks[{i}].fields[{j}] too long")
            if kind == "section" and body is None and fields is None:
                errors.append(f"slack: blocks[{i}] section needs text or fields")


def check_pagerduty(doc, raw_size, errors):
    if raw_size > PAGERDUTY_MAX_BODY:
        errors.append(f"pagerduty: body of {raw_size} bytes exceeds 512 KB")
    key = doc.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("pagerduty: routing_key must be a 32-character string")
    action = doc.get("event_action")
    if action not in PAGERDUTY_ACTIONS:
        errors.append("pagerduty: event_action must be trigger, acknowledge or resolve")
    dedup = doc.get("dedup_key")
    if not isinstance(dedup, str) or not dedup or len(dedup) > 255:
        errors.append("pagerduty: dedup_key must be a string of 1 to 255 characters")
    if action != "trigger":
        return
    payload = doc.get("payload")
    if not isinstance(payload, dict):
        errors.append("pagerduty: trigger needs a payload object")
        return
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary or len(summary) > 1024:
        errors.append("pagerduty: payload.summary must be a string of 1 to 1024 characters")
    if not isinstance(payload.get("source"), str) or not payload.get("source"):
        errors.append("pagerduty: payload.source must be a non-empty string")
    if payload.get("severity") not in PAGERDUTY_SEVERITIES:
        errors.append("pagerduty: payload.severity must be critical, error, warning or info")
    if "timestamp" in payload and not is_rfc3339(payload["timestamp"]):
        errors.append("pagerduty: payload.timestamp must be ISO 8601")
    for name in ("component", "group", "class"):
        if name in payload and not isinstance(payload[name], str):
            errors.append(f"pagerduty: payload.{name} must be a string")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        errors.append("pagerduty: payload.custom_details must be an object")
    for i, link in enumerate(doc.get("links", [])):
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            errors.append(f"pagerduty: links[{i}].href is required")
    for i, image in enumerate(doc.get("images", [])):
        if not isinstance(image, dict) or not str(image.get("src", "")).startswith("https://"):
            errors.append(f"pagerduty: images[{i}].src must be an https URL")


WEBHOOK_ALERT_FIELDS = ("status", "labels", "annotations", "startsAt", "endsAt", "fingerprint")


def check_webhook_body(doc, errors):
    if doc.get("version") != "4":
        errors.append('webhook: version must be "4"')
    if doc.get("status") not in ("firing", "resolved"):
        errors.append("webhook: status must be firing or resolved")
    for name in ("receiver", "groupKey", "externalURL"):
        if not isinstance(doc.get(name), str):
            errors.append(f"webhook: {name} must be a string")
    if doc.get("receiver") == "":
        errors.append("webhook: receiver must not be empty")
    truncated = doc.get("truncatedAlerts")
    if not is_int(truncated) or truncated < 0:
        errors.append("webhook: truncatedAlerts must be a non-negative integer")
    for name in ("groupLabels", "commonLabels", "commonAnnotations"):
        if not is_string_map(doc.get(name)):
            errors.append(f"webhook: {name} must be an object of strings")
    alerts = doc.get("alerts")
    if not isinstance(alerts, list):
        errors.append("webhook: alerts must be a list")
        return
    for i, alert in enumerate(alerts):
        if not isinstance(alert, dict):
            errors.append(f"webhook: alerts[{i}] must be an object")
            continue
        missing = [f for f in WEBHOOK_ALERT_FIELDS if f not in alert]
        if missing:
            errors.append(f"webhook: alerts[{i}] lacks {', '.join(missing)}")
        if "status" in alert and alert["status"] not in ("firing", "resolved"):
            errors.append(f"webhook: alerts[{i}].status must be firing or resolved")
        for name in ("labels", "annotations"):
            if name in alert and not is_string_map(alert[name]):
                errors.append(f"webhook: alerts[{i}].{name} must be an object of strings")
        for name in ("startsAt", "endsAt"):
            if name in alert and not is_rfc3339(alert[name]):
                errors.append(f"webhook: alerts[{i}].{name} must be RFC 3339")
        if "fingerprint" in alert and not isinstance(alert["fingerprint"], str):
            errors.append(f"webhook: alerts[{i}].fingerprint must be a string")
        if "generatorURL" in alert and not isinstance(alert["generatorURL"], str):
            errors.append(f"webhook: alerts[{i}].generatorURL must be a string")


def webhook_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_timestamp_signature(secret, timestamp, body):
    return webhook_signature(secret, timestamp.encode() + b"." + body)


def check_webhook_headers(headers, body, secret, errors, now_s):
    if not headers.get("x-watchkeeper-delivery"):
        errors.append("webhook: X-Watchkeeper-Delivery header missing")
    if secret is None:
        return
    timestamp = headers.get("x-watchkeeper-timestamp", "")
    signature = headers.get("x-watchkeeper-signature", "")
    timestamped = headers.get("x-watchkeeper-timestamp-signature", "")
    if not hmac.compare_digest(signature.encode(), webhook_signature(secret, body).encode()):
        errors.append("webhook: X-Watchkeeper-Signature does not match")
    if not timestamp.isdigit() or len(timestamp) > 12:
        errors.append("webhook: X-Watchkeeper-Timestamp must be unix seconds")
        return
    if abs(int(timestamp) - now_s) > SIGNATURE_MAX_SKEW_S:
        errors.append(f"webhook: X-Watchkeeper-Timestamp {timestamp} is more than "
                      f"{SIGNATURE_MAX_SKEW_S} s from now")
    if not hmac.compare_digest(timestamped.encode(),
                               webhook_timestamp_signature(secret, timestamp, body).encode()):
        errors.append("webhook: X-Watchkeeper-Timestamp-Signature does not match")


def classify(path):
    """(kind, name) of a receiver path; kind None for anything else."""
    parts = path.split("/")
    if len(parts) == 3 and parts[1] in ("slack", "webhook") and NAME.match(parts[2]):
        return parts[1], parts[2]
    if path == "/pagerduty":
        return "pagerduty", ""
    return None, ""


class Rule:
    def __init__(self, path_prefix, count, status=0, retry_after=None, delay_ms=0):
        self.path_prefix = path_prefix
        self.count = count
        self.status = status
        self.retry_after = retry_after
        self.delay_ms = delay_ms


class ControlError(Exception):
    pass


def parse_rule(doc, slow):
    if not isinstance(doc, dict):
        raise ControlError("body must be a JSON object")
    allowed = {"path_prefix", "count"} | ({"delay_ms"} if slow else {"status", "retry_after"})
    unknown = sorted(set(doc) - allowed)
    if unknown:
        raise ControlError("unknown field " + ", ".join(unknown))
    prefix = doc.get("path_prefix")
    if not isinstance(prefix, str) or not prefix.startswith("/"):
        raise ControlError("path_prefix must be a string starting with /")
    count = doc.get("count", 1)
    if not is_int(count) or not 1 <= count <= MAX_RULE_COUNT:
        raise ControlError(f"count must be an integer from 1 to {MAX_RULE_COUNT}")
    if slow:
        delay = doc.get("delay_ms")
        if not is_int(delay) or not 0 <= delay <= MAX_DELAY_MS:
            raise ControlError(f"delay_ms must be an integer from 0 to {MAX_DELAY_MS}")
        return Rule(prefix, count, delay_ms=delay)
    status = doc.get("status")
    if not is_int(status) or not 400 <= status <= 599:
        raise ControlError("status must be an integer from 400 to 599")
    retry_after = doc.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, str) or not retry_after
                                    or len(retry_after) > 64 or not retry_after.isprintable()):
        raise ControlError("retry_after must be a short printable string")
    return Rule(prefix, count, status=status, retry_after=retry_after)


class SinkState:
    def __init__(self, log_path, webhook_secret):
        self.lock = threading.Lock()
        self.records = []
        self.next_index = 0
        self.fail_rules = []
        self.slow_rules = []
        self.webhook_secret = webhook_secret
        self.log = open(log_path, "a", encoding="utf-8") if log_path else None

    @staticmethod
    def take(rules, path):
        for rule in rules:
            if rule.count > 0 and path.startswith(rule.path_prefix):
                rule.count -= 1
                return rule
        return None

    def plan(self, path):
        """The fail and slow rules this request consumes, taken under the lock in arrival order."""
        with self.lock:
            failing = self.take(self.fail_rules, path)
            slow = self.take(self.slow_rules, path)
            self.fail_rules = [r for r in self.fail_rules if r.count > 0]
            self.slow_rules = [r for r in self.slow_rules if r.count > 0]
            return failing, slow

    def add_rule(self, rule, slow):
        with self.lock:
            (self.slow_rules if slow else self.fail_rules).append(rule)

    def record(self, entry):
        with self.lock:
            entry["index"] = self.next_index
            self.next_index += 1
            self.records.append(entry)
            if self.log is not None:
                self.log.write(json.dumps(entry, sort_keys=True) + "\n")
                self.log.flush()
            return entry["index"]

    def since(self, index):
        with self.lock:
            return [r for r in self.records if r["index"] >= index], self.next_index

    def reset(self):
        with self.lock:
            self.records = []
            self.fail_rules = []
            self.slow_rules = []

    def close(self):
        with self.lock:
            if self.log is not None:
                self.log.close()
                self.log = None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "wk-notify-sink/1"
    timeout = 120
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    @property
    def state(self):
        return self.server.state

    def reply(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, status, doc, extra=()):
        self.reply(status, json.dumps(doc).encode(), extra=extra)

    def read_body(self):
        """(body, None), or (None, (status, problem)) when the request is refused from its
        headers: chunked bodies, a malformed or too large Content-Length. The caller answers."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return None, (411, "chunked request body")
        raw = self.headers.get("Content-Length", "0")
        length = int(raw) if raw.isdigit() and len(raw) < 16 else -1
        if length < 0:
            return None, (400, "malformed Content-Length")
        if length > MAX_BODY:
            return None, (413, f"body of {length} bytes exceeds {MAX_BODY}")
        return (self.rfile.read(length) if length else b""), None

    def refuse(self, refused):
        # The body was not read, so the connection cannot carry another request.
        self.close_connection = True
        self.reply_json(refused[0], {"error": refused[1]})

    def dispatch(self):
        try:
            mono_ns, wall_ns = time.monotonic_ns(), time.time_ns()
            url = urlsplit(self.path)
            if url.path.startswith("/control/"):
                self.control(url)
            else:
                self.receive(url, mono_ns, wall_ns)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            self.close_connection = True

    def receive(self, url, mono_ns, wall_ns):
        kind, name = classify(url.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        entry = {"mono_ns": mono_ns, "wall_ns": wall_ns, "method": self.command,
                 "path": url.path, "query": url.query, "kind": kind or "unknown", "name": name,
                 "headers": headers, "body": "", "json": None, "errors": [], "status": 0,
                 "delay_ms": 0}
        body, refused = self.read_body()
        if body is None:
            entry["status"], problem = refused
            entry["errors"].append(problem)
            self.state.record(entry)
            self.refuse(refused)
            return
        entry["body"] = body.decode("utf-8", "replace")
        errors = entry["errors"]
        status = 200
        if kind is None:
            errors.append(f"unknown receiver path {url.path}")
            status = 404
        elif self.command != "POST":
            errors.append(f"method {self.command} instead of POST")
            status = 405
        else:
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                errors.append(f"Content-Type {content_type!r} instead of application/json")
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):
                doc = None
                errors.append(f"{kind}: body is not JSON")
            if doc is not None and not isinstance(doc, dict):
                errors.append(f"{kind}: body must be a JSON object")
            elif doc is not None:
                entry["json"] = doc
                if kind == "slack":
                    check_slack(doc, errors)
                elif kind == "pagerduty":
                    check_pagerduty(doc, len(body), errors)
                else:
                    check_webhook_body(doc, errors)
            if kind == "webhook":
                check_webhook_headers(headers, body, self.state.webhook_secret, errors,
                                      wall_ns // 1_000_000_000)
            if errors:
                status = 400
        failing, slow = self.state.plan(url.path)
        if slow is not None:
            entry["delay_ms"] = slow.delay_ms
            time.sleep(slow.delay_ms / 1000)
        extra = []
        if failing is not None:
            status = failing.status
            if failing.retry_after is not None:
                extra.append(("Retry-After", failing.retry_after))
        entry["status"] = status
        self.state.record(entry)
        if failing is not None:
            self.reply_json(status, {"error": "injected failure"}, extra)
        elif status == 400:
            self.reply_json(400, {"status": "invalid event", "errors": errors})
        elif status != 200:
            self.reply_json(status, {"error": errors[0]})
        elif kind == "slack":
            self.reply(200, b"ok", "text/plain")
        elif kind == "pagerduty":
            self.reply_json(202, {"status": "success", "message": "Event processed",
                                  "dedup_key": entry["json"]["dedup_key"]})
        else:
            self.reply_json(200, {"status": "ok"})

    def control(self, url):
        body, refused = self.read_body()
        if body is None:
            self.refuse(refused)
            return
        try:
            if url.path == "/control/requests" and self.command == "GET":
                since = parse_qs(url.query).get("since", ["0"])[0]
                if not since.isdigit() or len(since) > 18:
                    raise ControlError("since must be a non-negative integer")
                records, next_index = self.state.since(int(since))
                self.reply_json(200, {"requests": records, "next": next_index})
                return
            if self.command != "POST" or url.path not in ("/control/fail", "/control/slow",
                                                          "/control/reset"):
                self.reply_json(404, {"error": f"no control endpoint {self.command} {url.path}"})
                return
            if url.path == "/control/reset":
                self.state.reset()
                self.reply_json(200, {"ok": True})
                return
            try:
                doc = json.loads(body)
            except (ValueError, RecursionError):
                raise ControlError("body is not JSON") from None
            slow = url.path == "/control/slow"
            self.state.add_rule(parse_rule(doc, slow), slow)
            self.reply_json(200, {"ok": True})
        except ControlError as error:
            self.reply_json(400, {"error": str(error)})


class NotifySink(ThreadingHTTPServer):
    """The sink, importable: NotifySink(port=0, log_path=None, webhook_secret=None).start()."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, port=0, log_path=None, webhook_secret=None, host="127.0.0.1"):
        super().__init__((host, port), Handler)
        self.state = SinkState(log_path, webhook_secret)
        self.port = self.server_address[1]
        self.url = f"http://{host}:{self.port}"
        self.thread = None

    def handle_error(self, request, client_address):
        pass

    def start(self):
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.shutdown()
        self.server_close()
        self.state.close()

    def requests(self, since=0):
        return self.state.since(since)[0]


# --- self-test -------------------------------------------------------------------------------

def _post(url, doc=None, raw=None, headers=None, method="POST"):
    data = raw if raw is not None else (json.dumps(doc).encode() if doc is not None else None)
    hdrs = {"Content-Type": "application/json"}
    hdrs.update(headers or {})
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def _announce_only(port, path, length):
    """The status answered to a request that announces `length` bytes and sends none: the sink
    must refuse from the headers alone."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {length}\r\n\r\n".encode())
        head = s.recv(4096).split(b" ", 2)
    return int(head[1])


def _alert(status="firing"):
    return {"status": status, "labels": {"alertname": "Down", "service": "api"},
            "annotations": {"summary": "api down"}, "startsAt": "2026-11-24T05:00:00.123Z",
            "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "abc123"}


def _webhook_doc():
    return {"receiver": "hook", "status": "firing", "alerts": [_alert()],
            "groupLabels": {"service": "api"}, "commonLabels": {"service": "api"},
            "commonAnnotations": {}, "externalURL": "http://wk.example", "version": "4",
            "groupKey": "{}:{service=\"api\"}", "truncatedAlerts": 0}


SLACK_OK = {"text": "[TRIGGERED] api down",
            "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "api down"}},
                       {"type": "section", "text": {"type": "mrkdwn", "text": "*api*"},
                        "fields": [{"type": "mrkdwn", "text": "*Service*\napi"}]}]}
PD_TRIGGER = {"routing_key": "R" * 32, "event_action": "trigger", "dedup_key": "watchkeeper/1",
              "payload": {"summary": "api down", "source": "api", "severity": "critical",
                          "timestamp": "2026-11-24T05:00:00Z", "custom_details": {}}}


def self_test():
    import tempfile
    failures = []

    def check(condition, what):
        print(("ok   " if condition else "FAIL ") + what, flush=True)
        if not condition:
            failures.append(what)

    secret = "s3cr3t-for-self-test"
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "sink.jsonl")
        sink = NotifySink(0, log, secret).start()
        base = sink.url
        try:
            def last():
                return sink.requests()[-1]

            status, _, body = _post(base + "/slack/ops", SLACK_OK)
            check(status == 200 and body == b"ok" and last()["errors"] == [], "valid slack accepted")
            status, _, _ = _post(base + "/slack/ops", {"text": "x"})
            check(status == 400 and any("blocks" in e for e in last()["errors"]),
                  "slack without blocks refused")
            big = dict(SLACK_OK, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}])
            _post(base + "/slack/ops", big)
            check(any("longer than 3000" in e for e in last()["errors"]), "slack section limit")
            _post(base + "/slack/ops", dict(SLACK_OK, blocks=[{"type": "divider"}] * 51))
            check(any("51 blocks" in e for e in last()["errors"]), "slack block count limit")

            status, _, body = _post(base + "/pagerduty", PD_TRIGGER)
            check(status == 202 and json.loads(body)["dedup_key"] == "watchkeeper/1"
                  and last()["errors"] == [], "valid pagerduty trigger accepted")
            bad = json.loads(json.dumps(PD_TRIGGER))
            bad["payload"]["severity"] = "fatal"
            del bad["payload"]["source"]
            status, _, _ = _post(base + "/pagerduty", bad)
            errs = last()["errors"]
            check(status == 400 and any("severity" in e for e in errs)
                  and any("source" in e for e in errs), "pagerduty bad severity and no source")
            _post(base + "/pagerduty", {"routing_key": "R" * 32, "event_action": "acknowledge"})
            check(any("dedup_key" in e for e in last()["errors"]), "pagerduty ack needs dedup_key")
            _post(base + "/pagerduty", {"routing_key": "short", "event_action": "snooze",
                                        "dedup_key": "k"})
            errs = last()["errors"]
            check(any("routing_key" in e for e in errs) and any("event_action" in e for e in errs),
                  "pagerduty short routing key and unknown action")
            status, _, _ = _post(base + "/pagerduty", {"routing_key": "R" * 32,
                                                       "event_action": "resolve", "dedup_key": "k"})
            check(status == 202 and last()["errors"] == [], "pagerduty resolve accepted")

            body = json.dumps(_webhook_doc()).encode()
            ts = str(int(time.time()))
            good = {"X-Watchkeeper-Timestamp": ts, "X-Watchkeeper-Delivery": "1:triggered:0",
                    "X-Watchkeeper-Signature": webhook_signature(secret, body),
                    "X-Watchkeeper-Timestamp-Signature": webhook_timestamp_signature(secret, ts, body)}
            status, _, _ = _post(base + "/webhook/hook", raw=body, headers=good)
            check(status == 200 and last()["errors"] == [], "signed webhook accepted")
            check(webhook_signature("key", b"{}") == "sha256=" + hmac.new(
                b"key", b"{}", hashlib.sha256).hexdigest(), "signature is HMAC over the body")
            check(webhook_timestamp_signature("key", "1", b"{}") == "sha256=" + hmac.new(
                b"key", b"1.{}", hashlib.sha256).hexdigest(), "timestamped signature over ts.body")
            status, _, _ = _post(base + "/webhook/hook", raw=body + b" ", headers=good)
            check(status == 400 and any("Signature" in e for e in last()["errors"]),
                  "tampered webhook body refused")
            stale = str(int(time.time()) - 3600)
            _post(base + "/webhook/hook", raw=body, headers=dict(
                good, **{"X-Watchkeeper-Timestamp": stale,
                         "X-Watchkeeper-Timestamp-Signature":
                             webhook_timestamp_signature(secret, stale, body)}))
            check(any("from now" in e for e in last()["errors"]), "stale webhook timestamp refused")
            _post(base + "/webhook/hook", raw=body, headers={"X-Watchkeeper-Delivery": "1:t:0"})
            check(any("Timestamp" in e for e in last()["errors"]), "unsigned webhook refused")
            # A receiver that knows only the documented contract checks the body signature.
            _post(base + "/webhook/hook", raw=body, headers=dict(
                good, **{"X-Watchkeeper-Signature": webhook_signature("other", body)}))
            check(any("X-Watchkeeper-Signature does not match" in e for e in last()["errors"]),
                  "body signed with another secret refused")
            doc = _webhook_doc()
            del doc["truncatedAlerts"]
            doc["version"] = 4
            doc["alerts"][0]["endsAt"] = "yesterday"
            del doc["alerts"][0]["fingerprint"]
            raw = json.dumps(doc).encode()
            _post(base + "/webhook/hook", raw=raw, headers=dict(
                good, **{"X-Watchkeeper-Signature": webhook_signature(secret, raw),
                         "X-Watchkeeper-Timestamp-Signature":
                             webhook_timestamp_signature(secret, ts, raw)}))
            errs = last()["errors"]
            check(len(errs) == 4 and any("truncatedAlerts" in e for e in errs)
                  and any("version" in e for e in errs) and any("endsAt" in e for e in errs)
                  and any("fingerprint" in e for e in errs), f"every webhook field problem named: {errs}")

            status, _, _ = _post(base + "/slack/ops", raw=b"{not json")
            check(status == 400 and any("not JSON" in e for e in last()["errors"]), "bad JSON refused")
            status, _, _ = _post(base + "/slack/ops", raw=b"[]")
            check(status == 400 and any("JSON object" in e for e in last()["errors"]), "JSON array refused")
            status, _, _ = _post(base + "/slack/ops", SLACK_OK, headers={"Content-Type": "text/plain"})
            check(status == 400 and any("Content-Type" in e for e in last()["errors"]),
                  "wrong content type refused")
            status, _, _ = _post(base + "/elsewhere", SLACK_OK)
            check(status == 404 and last()["kind"] == "unknown", "unknown path 404 and recorded")
            status, _, _ = _post(base + "/slack/ops", method="GET")
            check(status == 405, "GET on a receiver is 405")
            status = _announce_only(sink.port, "/slack/ops", MAX_BODY + 1)
            check(status == 413 and "exceeds" in last()["errors"][0], "oversized body 413")
            status, _, _ = _post(base + "/slack/ops", raw=b"[" * 100000 + b"]" * 100000)
            check(status == 400, "deeply nested JSON refused without a crash")

            # Injected failures: 429 with Retry-After once, then 500 twice, then success.
            check(_post(base + "/control/fail", {"path_prefix": "/webhook/", "status": 429,
                                                 "count": 1, "retry_after": "1"})[0] == 200, "fail rule 429")
            check(_post(base + "/control/fail", {"path_prefix": "/webhook/", "status": 500,
                                                 "count": 2})[0] == 200, "fail rule 500")
            answers = []
            for _ in range(4):
                status, headers, _ = _post(base + "/webhook/hook", raw=body, headers=good)
                answers.append((status, headers.get("Retry-After")))
            check(answers == [(429, "1"), (500, None), (500, None), (200, None)],
                  f"failures answered in order then success: {answers}")
            check([r["status"] for r in sink.requests()[-4:]] == [429, 500, 500, 200],
                  "answered statuses recorded")
            _post(base + "/control/fail", {"path_prefix": "/slack/", "status": 503, "count": 1})
            check(_post(base + "/pagerduty", PD_TRIGGER)[0] == 202, "fail rule only hits its prefix")
            check(_post(base + "/slack/ops", SLACK_OK)[0] == 503, "prefix rule hits")

            _post(base + "/control/slow", {"path_prefix": "/pagerduty", "delay_ms": 300, "count": 1})
            started = time.monotonic()
            _post(base + "/pagerduty", PD_TRIGGER)
            first = time.monotonic() - started
            started = time.monotonic()
            _post(base + "/pagerduty", PD_TRIGGER)
            second = time.monotonic() - started
            check(first >= 0.3 and second < 0.3 and sink.requests()[-2]["delay_ms"] == 300,
                  f"slow rule delays once ({first:.2f}s then {second:.2f}s)")

            for doc in ({"path_prefix": "webhook", "status": 500}, {"path_prefix": "/", "status": 200},
                        {"path_prefix": "/", "status": 500, "count": 0},
                        {"path_prefix": "/", "status": 500, "count": True},
                        {"path_prefix": "/", "status": 500, "extra": 1}, [1, 2]):
                check(_post(base + "/control/fail", doc)[0] == 400, f"bad fail rule refused: {doc}")
            check(_post(base + "/control/slow", {"path_prefix": "/", "delay_ms": -1})[0] == 400,
                  "negative delay refused")
            check(_post(base + "/control/fail", raw=b"{")[0] == 400, "bad control JSON refused")
            check(_post(base + "/control/requests?since=x", method="GET")[0] == 400, "bad since refused")
            check(_post(base + "/control/nothing")[0] == 404, "unknown control path 404")

            status, _, raw = _post(base + "/control/requests?since=3", method="GET")
            listing = json.loads(raw)
            total = listing["next"]
            check(status == 200 and listing["requests"][0]["index"] == 3
                  and len(listing["requests"]) == total - 3, "requests since an index")
            first = listing["requests"][0]
            check(first["mono_ns"] > 0 and first["wall_ns"] > 1_600_000_000 * 10**9
                  and "content-type" in first["headers"], "record carries both clocks and headers")
            check(_post(base + "/control/reset")[0] == 200 and sink.requests() == [], "reset clears")
            _post(base + "/slack/ops", SLACK_OK)
            check(sink.requests()[0]["index"] == total, "indices keep counting after reset")
            with open(log) as f:
                lines = [json.loads(line) for line in f]
            check(len(lines) == total + 1 and lines[-1]["path"] == "/slack/ops", "JSONL log has every request")
        finally:
            sink.stop()

        # As a script: prints "ready <port>" and serves.
        import subprocess
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--port", "0",
                                 "--log", os.path.join(tmp, "script.jsonl")],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline().split()
            check(len(line) == 2 and line[0] == "ready" and line[1].isdigit(), f"script prints ready: {line}")
            port = int(line[1])
            check(_post(f"http://127.0.0.1:{port}/slack/x", SLACK_OK)[0] == 200, "script serves")
        finally:
            proc.terminate()
            check(proc.wait(timeout=10) == 0, "script exits 0 on SIGTERM")
    print(f"{'FAILED' if failures else 'passed'}: {len(failures)} failure(s)")
    return 1 if failures else 0


def main(argv):
    parser = argparse.ArgumentParser(description="Slack/PagerDuty/webhook sink for Watchkeeper tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--log", help="append every request as one JSON line to this file")
    parser.add_argument("--webhook-secret", help="check X-Watchkeeper-Signature with this secret")
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args(argv)
    if args.self_test:
        return self_test()
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    sink = NotifySink(args.port, args.log, args.webhook_secret, args.host)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"ready {sink.port}", flush=True)
    try:
        sink.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sink.server_close()
        sink.state.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
