"""End-to-end: the real binary's WebSocket on the REST port — token auth, live health, service,
alert and metrics events as a target fails, resume with `since` after a reconnect, Origin
refusal, and bad messages answered without dropping the connection."""

from harness import (ADMIN_TOKEN, Database, TargetServer, Watchkeeper, Workdir, base_config,
                     bearer, http, ruled_service_yaml, run_tests, write_rules)
from ws_client import WebSocket

RULES = """groups:
  - name: ws
    rules:
      - alert: Down
        expr: probe_success == 0
"""


def test_live_events_resume_and_refusals():
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        config = base_config(ruled_service_yaml("web", target, write_rules(wd, RULES), series=2)).replace("server:\n", "server:\n  allowed_origins: [\"http://ops.example\"]\n", 1)
        wk = Watchkeeper(wd, config, db.url)
        try:
            # Tokens are configured: no token, a wrong one and a foreign Origin are refused.
            ws = WebSocket("127.0.0.1", wk.port)
            assert ws.status == 101
            hello = ws.recv()
            assert hello["type"] == "hello" and hello["auth_required"] is True, hello
            ws.send_json({"type": "subscribe", "topics": ["health"]})
            assert ws.recv() is None and ws.close_code == 4001, ws.close_code
            ws.close()
            ws = WebSocket("127.0.0.1", wk.port, "/ws?token=wrong-token-of-some-length")
            first = ws.recv()  # a wrong query token may be refused before or after the hello
            if first is not None:
                ws.send_json({"type": "subscribe", "topics": ["health"]})
                first = ws.recv()
            assert first is None and ws.close_code == 4001, (first, ws.close_code)
            ws.close()
            ws = WebSocket("127.0.0.1", wk.port, "/ws?token=" + ADMIN_TOKEN,
                           {"Origin": "http://evil.example"})
            assert ws.status == 403, ws.status
            ws.close()

            ws = WebSocket("127.0.0.1", wk.port, "/ws?token=" + ADMIN_TOKEN,
                           {"Origin": "http://ops.example"})
            assert ws.status == 101
            assert ws.recv()["type"] == "hello"
            ws.send_text("{not json")
            err = ws.recv()
            assert err["type"] == "error" and err["code"] == "bad_message", err
            ws.send_json({"type": "subscribe", "topics": ["health", "services", "alerts", "metrics:web"]})
            sub = ws.recv_until(lambda m: m["type"] == "subscribed", 5)
            # Scrapes and health checks both feed the stream; a scrape's event carries `up`.
            samples = ws.recv_until(lambda m: m.get("topic") == "metrics:web" and "up" in
                                    {s["labels"]["__name__"] for s in m["data"]["series"]}, 5)
            names = {s["labels"]["__name__"] for s in samples["data"]["series"]}
            assert len(names) > 2, names
            probe = ws.recv_until(lambda m: m.get("topic") == "metrics:web" and "probe_success" in
                                  {s["labels"]["__name__"] for s in m["data"]["series"]}, 5)
            assert all(s["labels"]["service"] == "web" for s in probe["data"]["series"]), probe

            # A selector inside the topic: only the series it matches, on a stream of its own.
            selected = 'metrics:web{__name__=~"up|scrape_duration_seconds"}'
            ws.send_json({"type": "subscribe", "topics": [selected]})
            ws.recv_until(lambda m: m["type"] == "subscribed", 5)
            samples = ws.recv_until(lambda m: m.get("topic") == selected, 5)
            names = {s["labels"]["__name__"] for s in samples["data"]["series"]}
            assert names == {"up", "scrape_duration_seconds"}, names
            assert all(s["labels"]["service"] == "web" for s in samples["data"]["series"])
            ws.send_json({"type": "subscribe", "topics": ['metrics:web{__name__=~"("}']})
            err = ws.recv_until(lambda m: m["type"] == "error", 5)
            assert err["code"] == "bad_message" and "invalid selector" in err["detail"], err
            # Pushed samples reach the live streams too.
            pushed = 'metrics:shop{__name__="orders_total"}'
            ws.send_json({"type": "subscribe", "topics": [pushed]})
            ws.recv_until(lambda m: m["type"] == "subscribed", 5)
            r = http("POST", wk.url + "/api/metrics/shop", b"orders_total 42\ncarts_open 3\n",
                     bearer(ADMIN_TOKEN))
            assert r.status == 200, r.body
            samples = ws.recv_until(lambda m: m.get("topic") == pushed, 5)
            assert [(s["labels"]["__name__"], s["value"]) for s in samples["data"]["series"]] == \
                [("orders_total", 42)], samples
            ws.send_json({"type": "unsubscribe", "topics": [selected, pushed]})
            ws.recv_until(lambda m: m["type"] == "unsubscribed", 5)
            status = ws.recv_until(lambda m: m.get("topic") == "services", 5)
            assert status["data"]["name"] == "web", status

            target.fail()
            down = ws.recv_until(lambda m: m.get("kind") == "check_transition" and m["data"]["to"] == "down", 10)
            assert down["data"]["service"] == "web" and down["seq"] > sub["seq"], down
            alert = ws.recv_until(lambda m: m.get("kind") == "alert_transition", 10)
            assert alert["data"]["alertname"] == "Down" and alert["data"]["state"] == "firing", alert
            last_seen = down["seq"]
            ws.close()

            # Reconnect and resume: the alert event published after `down` is replayed.
            ws = WebSocket("127.0.0.1", wk.port, "/ws", {"Authorization": "Bearer " + ADMIN_TOKEN})
            assert ws.recv()["type"] == "hello"
            ws.send_json({"type": "subscribe", "topics": ["alerts"], "since": last_seen})
            replayed = ws.recv_until(lambda m: m.get("kind") == "alert_transition", 5)
            assert replayed["seq"] == alert["seq"], (replayed, alert)
            ws.send_json({"type": "subscribe", "topics": ["health"], "since": 0})
            gap = ws.recv_until(lambda m: m["type"] in ("resync", "event"), 5)
            assert gap["type"] in ("resync", "event"), gap
            ws.send_json({"type": "ping", "id": "p1"})
            assert ws.recv_until(lambda m: m["type"] == "pong", 5)["id"] == "p1"
            ws.close()
        finally:
            wk.stop()
            target.stop()
            db.close()


if __name__ == "__main__":
    run_tests([test_live_events_resume_and_refusals])
