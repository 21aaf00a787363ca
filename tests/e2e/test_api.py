"""End-to-end: the REST surface on the gateway port — services CRUD persisted in PostgreSQL and
merged with the configuration, bearer-token roles, problem+json errors, body limits, the push
API, and configuration reload by SIGHUP and POST /-/reload."""

import json
import signal
import socket

from harness import (ADMIN_TOKEN, RESPONDER_TOKEN, Database, TargetServer, Watchkeeper, Workdir,
                     base_config, bearer, http, run_tests, wait_for)


def problem(resp, status):
    assert resp.status == status, (resp.status, resp.body)
    assert resp.headers["content-type"].startswith("application/problem+json"), resp.headers
    body = resp.json()
    assert body["status"] == status and body["title"] and body["detail"], body
    return body


def test_services_crud_auth_and_errors():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        config = base_config(f"""
  - name: fixed
    metrics:
      url: {target.url}/metrics
""")
        wk = Watchkeeper(wd, config, db.url)
        try:
            api = wk.url + "/api/services"
            new = {"name": "web", "metrics": {"url": target.url + "/metrics?series=5", "interval": "1s"},
                   "health": [{"type": "http", "url": target.url + "/health"}]}
            # No token, wrong token, too weak a role.
            problem(http("POST", api, json.dumps(new)), 401)
            problem(http("POST", api, json.dumps(new), bearer("nope")), 401)
            problem(http("POST", api, json.dumps(new), bearer(RESPONDER_TOKEN)), 403)
            # Bad bodies.
            problem(http("POST", api, "{not json", bearer(ADMIN_TOKEN)), 400)
            d = problem(http("POST", api, json.dumps({"name": "x", "metrics": {"url": "ftp://a/b"}}),
                             bearer(ADMIN_TOKEN)), 400)
            assert "url" in d["detail"], d
            d = problem(http("POST", api, json.dumps({"name": "x", "metrics": {"interval": 5}, "bogus": 1}),
                             bearer(ADMIN_TOKEN)), 400)
            assert "bogus" in d["detail"], d
            problem(http("POST", api, json.dumps({"name": "fixed"}), bearer(ADMIN_TOKEN)), 409)
            # Create, read, conflict, update, delete.
            r = http("POST", api, json.dumps(new), bearer(ADMIN_TOKEN))
            assert r.status == 201, r.body
            assert r.headers["location"] == "/api/services/web"
            problem(http("POST", api, json.dumps(new), bearer(ADMIN_TOKEN)), 409)
            wait_for(lambda: wk.services()["web"]["scrape"]["up"], 10, "web scraped")
            assert wk.services()["web"]["source"] == "api"
            listed = http("GET", api + "?source=api").json()
            assert [x["name"] for x in listed["services"]] == ["web"] and listed["total"] == 1, listed
            paged = http("GET", api + "?limit=1&offset=1").json()
            assert [x["name"] for x in paged["services"]] == ["web"] and paged["total"] == 2, paged
            problem(http("GET", api + "?state=sideways"), 400)
            problem(http("GET", api + "?limit=lots"), 400)
            assert db.query("SELECT name FROM services") == "web"
            new["labels"] = {"tier": "front"}
            r = http("PUT", api + "/web", json.dumps(new), bearer(ADMIN_TOKEN))
            assert r.status == 200, r.body
            wait_for(lambda: wk.services()["web"]["labels"] == {"tier": "front"}, 5, "web updated")
            problem(http("PUT", api + "/other", json.dumps(new), bearer(ADMIN_TOKEN)), 400)
            problem(http("DELETE", api + "/fixed", None, bearer(ADMIN_TOKEN)), 409)
            problem(http("DELETE", api + "/ghost", None, bearer(ADMIN_TOKEN)), 404)
            problem(http("GET", api + "/ghost"), 404)
            problem(http("GET", wk.url + "/api/nothing-here"), 404)
            problem(http("PATCH", api, "{}"), 405)

            # The API service survives a restart: it lives in PostgreSQL.
            wk.stop()
            wk = Watchkeeper(wd, config, db.url, name="watchkeeper2")
            wait_for(lambda: "web" in wk.services(), 10, "web restored from the database")
            assert http("DELETE", wk.url + "/api/services/web", None,
                        bearer(ADMIN_TOKEN)).status == 204
            wait_for(lambda: "web" not in wk.services(), 5, "web removed")
            assert db.query("SELECT count(*) FROM services") == "0"
        finally:
            wk.stop()
            target.stop()
            db.close()


def test_body_limits_and_malformed_requests():
    with Workdir() as wd:
        db = Database()
        wk = Watchkeeper(wd, base_config("  []"), db.url)
        try:
            big = "x" * (200 * 1024)  # the config allows 64 KiB
            problem(http("POST", wk.url + "/api/services", big, bearer(ADMIN_TOKEN)), 413)
            # A declared 1 GB body is refused before it is sent.
            s = socket.create_connection(("127.0.0.1", wk.port), timeout=5)
            s.sendall(b"POST /api/services HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n"
                      b"Authorization: Bearer " + ADMIN_TOKEN.encode() + b"\r\n\r\n")
            head = s.recv(4096).decode(errors="replace")
            assert head.startswith("HTTP/1.1 413"), head
            s.close()
            s = socket.create_connection(("127.0.0.1", wk.port), timeout=5)
            s.sendall(b"GARBAGE\x00\x01 / HTTP/9.9\r\n\r\n")
            try:
                s.recv(4096)
            except OSError:
                pass
            s.close()
            assert http("GET", wk.url + "/health").status == 200
            health = http("GET", wk.url + "/health").json()
            assert health["database"]["reachable"] is True and health["version"], health
        finally:
            wk.stop()
            db.close()


def test_push_metrics():
    with Workdir() as wd:
        db = Database()
        wk = Watchkeeper(wd, base_config("  []"), db.url)
        try:
            url = wk.url + "/api/metrics/batch_job"
            problem(http("POST", url, "orders_total 42\n"), 401)
            r = http("POST", url, "# TYPE orders_total counter\norders_total{shop=\"eu\"} 42\nrevenue 9.5\n",
                     bearer(RESPONDER_TOKEN))
            assert r.status == 200, r.body
            assert r.json()["samples"] == 2
            d = problem(http("POST", url, "orders_total{ 1\n", bearer(RESPONDER_TOKEN)), 400)
            assert "line 1" in d["detail"], d
            problem(http("POST", wk.url + "/api/metrics/bad%20name", "a 1\n", bearer(RESPONDER_TOKEN)), 400)
            wait_for(lambda: db.query("SELECT labels->>'shop' FROM series WHERE metric='orders_total' "
                                      "AND labels->>'service'='batch_job'") == "eu", 10,
                     "pushed series persisted")
        finally:
            wk.stop()
            db.close()


def test_reload_by_signal_and_endpoint():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        one = f"""
  - name: a
    metrics:
      url: {target.url}/metrics
  - name: b
    metrics:
      url: {target.url}/metrics?series=3
"""
        wk = Watchkeeper(wd, base_config(one), db.url)
        try:
            wait_for(lambda: wk.services()["a"]["scrape"]["scrapes"] >= 2, 10, "a scraped twice")
            scrapes_before = wk.services()["a"]["scrape"]["scrapes"]
            two = f"""
  - name: a
    metrics:
      url: {target.url}/metrics
  - name: c
    health:
      - type: tcp
        address: "127.0.0.1:{target.port}"
"""
            wk.write_config(base_config(two))
            wk.signal(signal.SIGHUP)
            wait_for(lambda: set(wk.services()) == {"a", "c"}, 10, "b gone, c added")
            # a was unchanged: it kept its state instead of starting over.
            assert wk.services()["a"]["scrape"]["scrapes"] >= scrapes_before
            # An invalid configuration is refused and the running one kept.
            wk.write_config(base_config(two).replace("interval: 1s", "interval: soon"))
            d = problem(http("POST", wk.url + "/-/reload", b"", bearer(ADMIN_TOKEN)), 400)
            assert "interval" in d["detail"], d
            problem(http("POST", wk.url + "/-/reload", b"", bearer(RESPONDER_TOKEN)), 403)
            wk.signal(signal.SIGHUP)
            assert set(wk.services()) == {"a", "c"}
            # A file caught empty (being rewritten) is refused, not taken as "no services".
            with open(wk.config_path, "w") as f:
                f.write("\n")
            d = problem(http("POST", wk.url + "/-/reload", b"", bearer(ADMIN_TOKEN)), 400)
            assert "empty" in d["detail"], d
            assert set(wk.services()) == {"a", "c"}
            assert wk.alive()
            wk.write_config(base_config(one))
            r = http("POST", wk.url + "/-/reload", b"", bearer(ADMIN_TOKEN))
            assert r.status == 200, r.body
            wait_for(lambda: set(wk.services()) == {"a", "b"}, 10, "reloaded back")
        finally:
            wk.stop()
            target.stop()
            db.close()


if __name__ == "__main__":
    run_tests([test_services_crud_auth_and_errors, test_body_limits_and_malformed_requests,
               test_push_metrics, test_reload_by_signal_and_endpoint])
