"""End-to-end: the anomaly watcher of a service scores pushed business metrics as they land,
writes watchkeeper_anomaly_score, records the threshold crossing in PostgreSQL and answers
GET /api/anomalies; a rule on the score fires through the ordinary alert path; `watchkeeper nab`
scores the development NAB corpus."""

import os
import random
import subprocess
import tempfile
import time
import urllib.parse

from harness import (RESPONDER_TOKEN, Database, Watchkeeper, Workdir, base_config, bearer, http,
                     run_tests, wait_for, write_rules)

RULES = """groups:
  - name: anomalies
    rules:
      - alert: OrdersAnomalous
        expr: watchkeeper_anomaly_score{metric="orders_per_second"} >= 0.9
"""


def test_pushed_spike_becomes_an_anomaly_and_an_alert():
    with Workdir() as wd:
        db = Database()
        rules = write_rules(wd, RULES)
        config = base_config(f"""
  - name: shop
    rule_files: [{rules}]
""") + """
anomaly:
  threshold: 0.9
  series: [orders_per_second]
"""
        wk = Watchkeeper(wd, config, db.url)
        try:
            rng = random.Random(7)
            t0 = int(time.time() * 1000) - 25_000
            push = wk.url + "/api/metrics/shop"
            # 250 ordinary samples 100 ms apart (inside the watcher's look-back), then a spike.
            for i in range(250):
                body = f"orders_per_second {50 + rng.gauss(0, 1):.3f} {t0 + i * 100}\n"
                r = http("POST", push, body.encode(), bearer(RESPONDER_TOKEN))
                assert r.status == 200, r.body
            assert http("GET", wk.url + "/api/anomalies").json()["anomalies"] == []
            r = http("POST", push, f"orders_per_second 400 {t0 + 250 * 100}\n".encode(), bearer(RESPONDER_TOKEN))
            assert r.status == 200, r.body

            def found():
                return http("GET", wk.url + "/api/anomalies?service=shop").json()["anomalies"]
            wait_for(found, 10, "anomaly recorded")
            a = found()[0]
            assert a["metric"] == "orders_per_second" and a["value"] == 400 and a["score"] >= 0.9, a
            assert a["at_ms"] == t0 + 250 * 100, a
            assert db.query("SELECT count(*) FROM anomalies WHERE service = 'shop'") == "1"
            q = urllib.parse.quote('max_over_time(watchkeeper_anomaly_score{service="shop"}[1m])')
            res = http("GET", wk.url + "/api/v1/query?query=" + q).json()["data"]["result"]
            assert res and float(res[0]["value"][1]) >= 0.9, res
            wait_for(lambda: any(x["alertname"] == "OrdersAnomalous"
                                 for x in http("GET", wk.url + "/api/alerts?state=firing").json()["alerts"]),
                     10, "alert on the anomaly score")
            assert http("GET", wk.url + "/api/anomalies?limit=0").status == 400
        finally:
            wk.stop()
            db.close()


CAPACITY_RULES = """groups:
  - name: capacity
    interval: 1s
    rules:
      - alert: DiskFillsWithinAnHour
        expr: watchkeeper_prediction_seconds_to_threshold{prediction="disk"} < 3600
"""


def test_prediction_crossing_its_horizon_fires_a_rule():
    """A configured prediction forecasts a draining disk, writes the time to empty as a series,
    and an ordinary rule on it fires."""
    with Workdir() as wd:
        db = Database()
        rules = write_rules(wd, CAPACITY_RULES)
        config = base_config("""
  - name: shop
""") + f"""
rules:
  files: [{rules}]
predictions:
  - name: disk
    query: disk_avail_bytes
    threshold: 0
    history: 5m
    horizon: 1h
    interval: 1s
    method: linear
"""
        wk = Watchkeeper(wd, config, db.url)
        try:
            now = int(time.time() * 1000)
            # 100 GB draining 1 GB per second over the last minute: 40 GB left, empty in ~40 s.
            body = "".join(f"disk_avail_bytes {100e9 - i * 1e9:.0f} {now - 60_000 + i * 1000}\n"
                           for i in range(61))
            r = http("POST", wk.url + "/api/metrics/shop", body.encode(), bearer(RESPONDER_TOKEN))
            assert r.status == 200, r.body

            def eta():
                q = urllib.parse.quote('watchkeeper_prediction_seconds_to_threshold{prediction="disk"}')
                res = http("GET", wk.url + "/api/v1/query?query=" + q).json()["data"]["result"]
                return res or None
            res = wait_for(eta, 10, "the prediction series")
            assert res[0]["metric"]["service"] == "shop", res
            seconds = float(res[0]["value"][1])
            assert 0 <= seconds <= 45, res
            wait_for(lambda: any(x["alertname"] == "DiskFillsWithinAnHour"
                                 for x in http("GET", wk.url + "/api/alerts?state=firing").json()["alerts"]),
                     10, "alert on the prediction")
            # Recorded in PostgreSQL when it changes, not on every run.
            cap = wait_for(lambda: http("GET", wk.url + "/api/capacity?prediction=disk").json()["predictions"],
                           10, "the recorded prediction")[0]
            assert cap["labels"]["service"] == "shop" and cap["method"] == "linear", cap
            assert cap["seconds_to_threshold"] is not None and cap["crosses_at_ms"] > now - 60_000, cap
            time.sleep(2)
            rows = int(db.query("SELECT count(*) FROM predictions WHERE prediction = 'disk'"))
            assert 1 <= rows <= 2, f"{rows} rows for a prediction that ran ~4 times without changing much"
            assert http("GET", wk.url + "/api/capacity?limit=0").status == 400
        finally:
            wk.stop()
            db.close()


def test_nab_command_scores_the_development_corpus():
    binary = os.environ["WK_BINARY"]
    nab = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "nab-dev")
    with tempfile.TemporaryDirectory() as out:
        r = subprocess.run([binary, "nab", "--data", os.path.join(nab, "data"), "--labels",
                            os.path.join(nab, "labels", "combined_windows.json"), "--out", out],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        standard = [l for l in r.stdout.splitlines() if l.startswith("standard")]
        assert standard, r.stdout
        score = float(standard[0].split()[2])
        assert score > 60, standard
        results = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if f.endswith(".csv")]
        assert results, out
        with open(results[0]) as f:
            assert f.readline().strip() == "timestamp,value,anomaly_score,label"
        r = subprocess.run([binary, "nab", "--data", "/nonexistent", "--out", out], capture_output=True, text=True)
        assert r.returncode != 0 and r.stderr, r


if __name__ == "__main__":
    run_tests([test_prediction_crossing_its_horizon_fires_a_rule, test_pushed_spike_becomes_an_anomaly_and_an_alert, test_nab_command_scores_the_development_corpus])
