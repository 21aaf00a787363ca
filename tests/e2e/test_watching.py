"""End-to-end: the binary watches a real node_exporter, itself, and a test target that fails
and recovers on demand; health transitions are committed to PostgreSQL; /metrics passes promtool;
a clean shutdown writes every sample."""

import os
import signal
import subprocess
import time

from harness import (Database, NodeExporter, TargetServer, Watchkeeper, Workdir, base_config, http,
                     run_tests, wait_for)


def services_yaml(target, node):
    return f"""
  - name: self
    metrics:
      url: http://127.0.0.1:@PORT@/metrics
  - name: node
    labels: {{team: infra}}
    metrics:
      url: {node.url}/metrics
  - name: app
    depends_on: [node]
    metrics:
      url: {target.url}/metrics?series=50
    health:
      - name: http
        type: http
        url: {target.url}/health
        expected_status: [200]
        body_contains: ok
      - name: port
        type: tcp
        address: "127.0.0.1:{target.port}"
"""


def test_watch_fail_recover_and_persist():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        node = NodeExporter(wd)
        wk = Watchkeeper(wd, base_config(services_yaml(target, node)), db.url)
        try:
            def all_up():
                s = wk.services()
                return (s["node"]["scrape"]["up"] and s["node"]["scrape"]["series"] > 100
                        and s["self"]["scrape"]["up"] and s["app"]["scrape"]["up"]
                        and all(c["state"] == "up" for c in s["app"]["checks"])
                        and len(s["app"]["checks"]) == 2)
            wait_for(all_up, 20, "all services up")
            s = wk.services()
            assert s["node"]["labels"] == {"team": "infra"}
            assert s["app"]["depends_on"] == ["node"]
            assert s["app"]["state"] == "up"
            # Watching starts only once the gateway listens: scraping itself never failed.
            assert s["self"]["scrape"]["failures"] == 0, s["self"]["scrape"]
            one = http("GET", wk.url + "/api/services/app").json()
            assert one["name"] == "app" and one["scrape"]["samples_scraped"] >= 50

            target.fail()
            def app_down():
                a = wk.services()["app"]
                http_check = [c for c in a["checks"] if c["name"] == "http"][0]
                return http_check["state"] == "down" and not a["scrape"]["up"] and a
            a = wait_for(app_down, 10, "app down")
            http_check = [c for c in a["checks"] if c["name"] == "http"][0]
            assert "503" in http_check["reason"], http_check
            assert "500" in a["scrape"]["last_error"], a["scrape"]
            assert a["state"] == "degraded"  # the TCP port still answers
            rows = db.query("SELECT from_state || '>' || to_state FROM health_transitions "
                            "WHERE service='app' AND check_name='http' ORDER BY id")
            assert rows.split("\n") == ["unknown>up", "up>down"], rows

            target.recover()
            # Checks and scrapes run on their own timers: wait for both to see the recovery.
            wait_for(lambda: all(c["state"] == "up" for c in wk.services()["app"]["checks"])
                     and wk.services()["app"]["scrape"]["up"], 10, "app up again")
            rows = db.query("SELECT to_state FROM health_transitions WHERE service='app' "
                            "AND check_name='http' ORDER BY id")
            assert rows.split("\n") == ["up", "down", "up"], rows
            current = db.query("SELECT state FROM health_current WHERE service='app' AND check_name='http'")
            assert current == "up", current

            metrics = http("GET", wk.url + "/metrics")
            assert metrics.status == 200
            text = metrics.body.decode()
            for family in ["watchkeeper_scrapes_total", "watchkeeper_samples_ingested_total",
                           "watchkeeper_parse_errors_total", "watchkeeper_scrape_duration_seconds",
                           "watchkeeper_db_write_duration_seconds", "watchkeeper_write_queue_bytes",
                           "watchkeeper_samples_dropped_total", "watchkeeper_service_up"]:
                assert f"# TYPE {family} " in text, family
            assert 'watchkeeper_service_up{service="app"} 1' in text
            path = os.path.join(wd, "metrics.txt")
            with open(path, "w") as f:
                f.write(text)
            check = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                                   capture_output=True)
            assert check.returncode == 0, check.stdout + check.stderr

            # Samples reach PostgreSQL within a flush interval or two.
            wait_for(lambda: int(db.query("SELECT count(*) FROM series WHERE metric='node_load1'")) == 1,
                     10, "node_load1 persisted")

            wk.signal(signal.SIGTERM)
            assert wk.wait(30) == 0, wk.output()
            stopped_at_ms = int(time.time() * 1000)
            # A clean shutdown writes everything: the last up sample is close to the stop.
            last = int(db.query("SELECT max(c.max_t) FROM sample_chunks c JOIN series s USING "
                                "(fingerprint) WHERE s.metric='up' AND s.labels->>'service'='node'"))
            assert stopped_at_ms - last < 3000, (stopped_at_ms, last)
            assert "all samples written" in wk.output()
        finally:
            wk.stop()
            node.stop()
            target.stop()
            db.close()


def test_hostile_targets_do_not_hurt():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        services = f"""
  - name: huge
    metrics:
      url: {target.url}/huge
      body_size_limit: 1MiB
  - name: trickle
    metrics:
      url: {target.url}/trickle
      timeout: 500ms
  - name: garbage
    metrics:
      url: {target.url}/bytes?n=5000
  - name: many
    metrics:
      url: {target.url}/metrics?series=2000
      sample_limit: 100
  - name: refused
    metrics:
      url: http://127.0.0.1:1/metrics
"""
        wk = Watchkeeper(wd, base_config(services), db.url)
        try:
            def all_failed():
                s = wk.services()
                return all(s[n]["scrape"]["scrapes"] >= 2 for n in s) and s
            s = wait_for(all_failed, 20, "two scrapes each")
            assert "limit" in s["huge"]["scrape"]["last_error"], s["huge"]
            assert "timeout" in s["trickle"]["scrape"]["last_error"].lower(), s["trickle"]
            assert "parse error" in s["garbage"]["scrape"]["last_error"], s["garbage"]
            assert "sample_limit" in s["many"]["scrape"]["last_error"], s["many"]
            assert s["refused"]["scrape"]["last_error"], s["refused"]
            for n in s:
                assert not s[n]["scrape"]["up"], n
            text = http("GET", wk.url + "/metrics").body.decode()
            assert 'watchkeeper_scrapes_total{service="huge",outcome="body_too_large"}' in text
            assert 'watchkeeper_scrapes_total{service="many",outcome="sample_limit"}' in text
            assert 'watchkeeper_parse_errors_total{service="garbage"}' in text
            assert wk.alive()
        finally:
            wk.stop()
            target.stop()
            db.close()


if __name__ == "__main__":
    run_tests([test_watch_fail_recover_and_persist, test_hostile_targets_do_not_hurt])
