"""End-to-end durability: kill -9 loses at most a flush interval of samples and no health
transition; a database that disappears is survived (watching goes on, samples are buffered and
written once it is back)."""

import signal
import time

from harness import (Database, PrivateCluster, TargetServer, Watchkeeper, Workdir, base_config,
                     http, run_tests, wait_for)


def services(target):
    return f"""
  - name: app
    metrics:
      url: {target.url}/metrics?series=20
    health:
      - type: http
        url: {target.url}/health
"""


def up_samples(db):
    """(count, newest timestamp) of the persisted `up` samples of app."""
    row = db.query("SELECT coalesce(sum(num_samples),0) || ' ' || coalesce(max(max_t),0) FROM sample_chunks "
                   "c JOIN series s USING (fingerprint) WHERE s.metric='up' AND s.labels->>'service'='app'")
    count, newest = row.split()
    return int(count), int(newest)


def test_kill_9_loses_at_most_one_flush_interval():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        wk = Watchkeeper(wd, base_config(services(target), flush="1s"), db.url)
        try:
            wait_for(lambda: wk.services()["app"]["scrape"]["scrapes"] >= 4, 15, "four scrapes")
            target.fail()
            wait_for(lambda: wk.services()["app"]["checks"][0]["state"] == "down", 10, "app down")
            wk.signal(signal.SIGKILL)
            wk.wait(10)
            killed_ms = int(time.time() * 1000)
            count, newest = up_samples(db)
            assert count >= 3, count
            # flush interval 1 s + one scrape interval of slack for the sample in flight.
            assert killed_ms - newest <= 2500, (killed_ms, newest)
            # The health transition was committed before it was reported, so it is there.
            assert db.query("SELECT state FROM health_current WHERE service='app'") == "down"
            target.recover()
            wk2 = Watchkeeper(wd, base_config(services(target), flush="1s"), db.url, name="wk2")
            try:
                wait_for(lambda: wk2.services()["app"]["checks"][0]["state"] == "up", 10, "up after restart")
                # After the restart the state machine starts from unknown; the history shows both runs.
                rows = db.query("SELECT to_state FROM health_transitions WHERE service='app' ORDER BY id")
                assert rows.split("\n")[-1] == "up", rows
                wait_for(lambda: up_samples(db)[0] > count, 10, "new samples after restart")
            finally:
                wk2.stop()
        finally:
            wk.stop()
            target.stop()
            db.close()


def test_database_outage_is_survived():
    with Workdir() as wd:
        cluster = PrivateCluster(wd)
        db = Database(cluster.url)
        target = TargetServer(wd)
        wk = Watchkeeper(wd, base_config(services(target), flush="1s"), db.url)
        try:
            wait_for(lambda: up_samples(db)[0] >= 2, 15, "samples persisted")
            cluster.stop()
            outage_started = int(time.time() * 1000)
            wait_for(lambda: http("GET", wk.url + "/health").json()["database"]["reachable"] is False,
                     10, "health reports the database unreachable")
            time.sleep(3)
            # Still watching while the database is gone.
            scrapes = wk.services()["app"]["scrape"]["scrapes"]
            wait_for(lambda: wk.services()["app"]["scrape"]["scrapes"] > scrapes, 5, "scrapes go on")
            text = http("GET", wk.url + "/metrics").body.decode()
            queued = [l for l in text.splitlines() if l.startswith("watchkeeper_write_queue_chunks ")]
            assert queued and float(queued[0].split()[1]) > 0, queued
            outage_ended = int(time.time() * 1000)
            cluster.start()
            wait_for(lambda: http("GET", wk.url + "/health").json()["database"]["reachable"] is True,
                     20, "database reachable again")
            # The samples scraped during the outage were written after it.
            def outage_covered():
                n = int(db.query(
                    "SELECT count(*) FROM sample_chunks c JOIN series s USING (fingerprint) "
                    f"WHERE s.metric='up' AND c.max_t >= {outage_started} AND c.min_t <= {outage_ended}"))
                return n > 0
            wait_for(outage_covered, 10, "outage samples written")
            assert wk.alive()
            text = http("GET", wk.url + "/metrics").body.decode()
            dropped = [l for l in text.splitlines()
                       if l.startswith('watchkeeper_samples_dropped_total{reason="write_buffer_full"}')]
            assert not dropped or float(dropped[0].split()[1]) == 0, dropped
        finally:
            wk.stop()
            target.stop()
            db.close()
            cluster.stop()


if __name__ == "__main__":
    run_tests([test_kill_9_loses_at_most_one_flush_interval, test_database_outage_is_survived])
