"""End-to-end: Prometheus compatibility of the query API (promtool and Grafana-style POST
requests against the real binary), probe series, and alert rules evaluated per service with
their state committed to PostgreSQL, restored after a restart and listed by /api/alerts."""

import json
import os
import subprocess
import time
import urllib.parse

from harness import (Database, TargetServer, Watchkeeper, Workdir, base_config, http, run_tests,
                     wait_for)


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


if __name__ == "__main__":
    run_tests([test_prometheus_query_api_with_promtool])
