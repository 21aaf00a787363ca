"""End-to-end: Prometheus compatibility of the query API (promtool and Grafana-style POST
requests against the real binary), probe series, and alert rules evaluated per service with
their state committed to PostgreSQL, restored after a restart and listed by /api/alerts."""

import json
import os
import subprocess
import time
import urllib.parse

from harness import (Database, TargetServer, Watchkeeper, Workdir, base_config, http,
                     ruled_service_yaml, run_tests, wait_for, write_rules)


def promtool(*args):
    out = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=30)
    return out.returncode, out.stdout + out.stderr


def test_prometheus_query_api_with_promtool():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        config = base_config(f"""
  - name: web
    labels:
      team: payments
    metrics:
      url: {target.url}/metrics?series=3
    health:
      - name: http
        type: http
        url: {target.url}/health
""")
        wk = Watchkeeper(wd, config, db.url)
        try:
            wait_for(lambda: wk.services()["web"]["scrape"]["up"], 10, "web scraped")
            wait_for(lambda: http("GET", wk.url + "/api/v1/query?query=probe_success").json()["data"]["result"],
                     10, "probe series")
            code, out = promtool("query", "instant", wk.url, 'up{service="web"}')
            assert code == 0, out
            assert 'up{' in out and 'service="web"' in out and "=> 1 @" in out, out
            code, out = promtool("query", "instant", wk.url, 'probe_success{service="web",check="http"}')
            assert code == 0 and "=> 1 @" in out and 'team="payments"' in out, out
            now = time.time()
            code, out = promtool("query", "range", "--start", str(now - 5), "--end", str(now),
                                 "--step", "1s", wk.url, "sum(up)")
            assert code == 0 and "@[" in out, out
            code, out = promtool("query", "series", "--match", 'up{service="web"}', wk.url)
            assert code == 0 and 'service="web"' in out, out
            code, out = promtool("query", "labels", wk.url, "check")
            assert code == 0 and "http" in out, out

            # Grafana posts forms; errors use Prometheus's error shape and status codes.
            r = http("POST", wk.url + "/api/v1/query",
                     urllib.parse.urlencode({"query": "count(up)", "time": str(now)}).encode(),
                     {"Content-Type": "application/x-www-form-urlencoded"})
            assert r.status == 200 and r.json()["data"]["result"][0]["value"][1] == "1", r.body
            r = http("GET", wk.url + "/api/v1/query?query=" + urllib.parse.quote("sum("))
            assert r.status == 400 and r.json()["errorType"] == "bad_data", r.body
            r = http("GET", wk.url + "/api/v1/query_range?query=up&start=10&end=1&step=1")
            assert r.status == 400 and "before start" in r.json()["error"], r.body
        finally:
            wk.stop()
            target.stop()
            db.close()


RULES = """groups:
  - name: availability
    interval: 30s
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service }} is down ({{ $value }})"
      - alert: CheckFailing
        expr: probe_success == 0
        for: 2s
      - record: service:probe_success:min
        expr: min(probe_success)
      - alert: BrokenRule
        expr: '{__name__=~"up|scrape_duration_seconds"} + on() {__name__=~"up|scrape_duration_seconds"}'
"""


def alerts(wk, query=""):
    r = http("GET", wk.url + "/api/alerts" + query)
    assert r.status == 200, r.body
    return r.json()


def test_rules_fire_on_landing_persist_and_restore():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        config = base_config(ruled_service_yaml("web", target, write_rules(wd, RULES)))
        wk = Watchkeeper(wd, config, db.url)
        try:
            wait_for(lambda: wk.services()["web"]["scrape"]["up"], 10, "web scraped")
            assert alerts(wk)["alerts"] == [], alerts(wk)
            # The recording rule writes a series with the implied service label.
            wait_for(lambda: http("GET", wk.url + "/api/v1/query?query=service:probe_success:min").json()["data"]["result"],
                     10, "recording rule output")
            rec = http("GET", wk.url + "/api/v1/query?query=service:probe_success:min").json()["data"]["result"][0]
            assert rec["metric"].get("service") == "web", rec
            # A broken rule is counted and does not stop the others.
            wait_for(lambda: 'watchkeeper_rule_evaluation_failures_total{scope="web",rule="BrokenRule"}'
                     in http("GET", wk.url + "/metrics").body.decode(), 10, "failure counted")

            started = time.time()
            target.fail()
            # The group interval is 30 s: firing within a few seconds proves evaluation on landing.
            wait_for(lambda: any(a["alertname"] == "TargetDown" and a["state"] == "firing"
                                 for a in alerts(wk)["alerts"]), 10, "TargetDown firing")
            took = time.time() - started
            assert took < 5, took
            down = [a for a in alerts(wk)["alerts"] if a["alertname"] == "TargetDown"][0]
            assert down["service"] == "web" and down["labels"]["severity"] == "critical", down
            assert down["annotations"]["summary"] == "web is down (0)", down
            # CheckFailing waits its `for` in pending first.
            wait_for(lambda: any(a["alertname"] == "CheckFailing" and a["state"] == "firing"
                                 for a in alerts(wk)["alerts"]), 15, "CheckFailing firing after for")
            history = db.query("SELECT string_agg(to_state, ',' ORDER BY id) FROM alert_history "
                               "WHERE rule_name = 'CheckFailing'")
            assert history.startswith("pending,firing"), history
            # ALERTS exists as in Prometheus.
            r = http("GET", wk.url + "/api/v1/query?query=" + urllib.parse.quote('ALERTS{alertstate="firing"}'))
            names = {x["metric"]["alertname"] for x in r.json()["data"]["result"]}
            assert {"TargetDown", "CheckFailing"} <= names, names
            assert alerts(wk, "?state=firing&service=web")["total"] == 2
            r = http("GET", wk.url + "/api/alerts?state=sideways")
            assert r.status == 400 and r.headers["content-type"].startswith("application/problem+json"), r.body

            # A restart restores firing alerts: no new pending/firing transitions, no second page.
            before = db.query("SELECT count(*) FROM alert_history")
            wk.stop()
            wk = Watchkeeper(wd, config, db.url, name="watchkeeper2")
            time.sleep(3)
            assert alerts(wk, "?state=firing")["total"] == 2
            after = db.query("SELECT count(*) FROM alert_history")
            assert before == after, (before, after)

            target.recover()
            wait_for(lambda: alerts(wk)["total"] == 0, 15, "alerts resolved")
            resolved = alerts(wk, "?state=resolved")
            assert {a["alertname"] for a in resolved["alerts"]} >= {"TargetDown", "CheckFailing"}, resolved
            assert all(a["resolved_at_ms"] > 0 for a in resolved["alerts"]), resolved
        finally:
            wk.stop()
            target.stop()
            db.close()


def test_check_rules_and_test_rules_commands():
    binary = os.environ["WK_BINARY"]
    data = os.path.join(os.path.dirname(__file__), "..", "testdata", "rules")
    out = subprocess.run([binary, "check-rules", os.path.join(data, "alerts.good.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "SUCCESS" in out.stdout, out
    out = subprocess.run([binary, "check-rules", os.path.join(data, "alerts.bad.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "alerts.bad.yml:" in out.stderr, out
    out = subprocess.run([binary, "test-rules", os.path.join(data, "promtool_test.good.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip().splitlines()[-1].endswith("0 failed, 0 skipped"), out
    out = subprocess.run([binary, "test-rules", os.path.join(data, "promtool_test.bad.yml")],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "FAIL" in out.stdout, out
    # A configuration naming a broken rule file is refused, at check-config and at start.
    with Workdir() as wd:
        cfg = os.path.join(wd, "c.yaml")
        with open(cfg, "w") as f:
            f.write("rules:\n  files: [" + os.path.join(os.path.abspath(data), "alerts.bad.yml") + "]\n")
        out = subprocess.run([binary, "check-config", cfg], capture_output=True, text=True)
        assert out.returncode == 1 and "alerts.bad.yml:" in out.stderr, out


if __name__ == "__main__":
    run_tests([test_prometheus_query_api_with_promtool, test_rules_fire_on_landing_persist_and_restore,
               test_check_rules_and_test_rules_commands])
