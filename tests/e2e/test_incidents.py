"""End-to-end: incidents over REST against the real binary and PostgreSQL — the manual
lifecycle, filters and pagination, token roles, problem+json errors, the audit log, who is on
call — and incidents opened by alerts: grouping by service, auto resolve, reopen within the
window, and dependency suppression."""

import json
import re
import threading
import time

from harness import Database, TargetServer, Watchkeeper, Workdir, run_tests, wait_for, write_rules
from notify_harness import (Api, NotifySink, Rig, assert_problem, config, delivery, extra_env, hook_status,
                            incidents_yaml, is_2xx, notifications_yaml, now_ms, service_yaml, timeline_kinds)

ONCALL = """users:
  - id: alice
    name: Alice Example
  - id: bob
    name: Bob Example
schedules:
  - name: primary
    layers:
      - name: daily
        users: [alice, bob]
        start: 2026-01-05T09:00:00Z
        rotation: daily
        handoff_time: "09:00"
        time_zone: UTC
"""

DAY_MS = 86_400_000
JAN5_9H_MS = 1767603600000  # 2026-01-05T09:00:00Z


def start_plain(rig, wd, extra=""):
    db = rig.add(Database())
    target = rig.add(TargetServer(wd))
    rules = write_rules(wd, "groups: []\n")
    cfg = config(service_yaml("db", target, rules) + service_yaml("api", target, rules), incidents_yaml() + extra)
    return rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))


def test_rest_lifecycle_and_errors():
    with Workdir() as wd:
        rig = Rig()
        try:
            wk = start_plain(rig, wd)
            api = Api(wk)
            create = {"title": "Disk full on db-1", "service": "db", "severity": "warning",
                      "description": "/var at 100%"}
            assert_problem(api.call("POST", "/api/incidents", create, role=None), 401)
            assert_problem(api.call("POST", "/api/incidents", create, role="viewer"), 403)

            first = api.ok("POST", "/api/incidents", create, status=201)
            assert first["status"] == "triggered" and first["title"] == create["title"], first
            assert first["service"] == "db" and first["severity"] == "warning", first
            assert first["created_by"] == "e2e-responder" and first["reopen_count"] == 0, first
            assert first["related_to"] is None and first["acknowledged_at_ms"] is None, first
            assert first["resolved_at_ms"] is None and abs(first["opened_at_ms"] - now_ms()) < 10_000, first
            second = api.ok("POST", "/api/incidents", {"title": "Checkout slow", "service": "api",
                                                       "severity": "critical"}, status=201)
            third = api.ok("POST", "/api/incidents", {"title": "Cert expires soon", "service": "api",
                                                      "severity": "info"}, status=201)
            ids = {first["id"], second["id"], third["id"]}
            assert len(ids) == 3, ids

            # Filters and pagination.
            listed = api.incidents()
            assert listed["total"] == 3 and listed["limit"] == 100 and listed["offset"] == 0, listed
            assert {i["id"] for i in api.incidents("?service=api")["incidents"]} == {second["id"], third["id"]}
            assert [i["id"] for i in api.incidents("?severity=critical")["incidents"]] == [second["id"]]
            assert api.incidents("?status=triggered,acknowledged")["total"] == 3
            assert api.incidents("?status=resolved")["total"] == 0
            pages = [api.incidents(f"?limit=1&offset={o}") for o in range(3)]
            assert all(p["total"] == 3 and len(p["incidents"]) == 1 and p["limit"] == 1 for p in pages), pages
            assert {p["incidents"][0]["id"] for p in pages} == ids, pages
            assert api.incidents("?limit=1&offset=3")["incidents"] == []
            future = now_ms() + 3600_000
            assert api.incidents(f"?since={future}")["total"] == 0
            assert api.incidents(f"?until={future}")["total"] == 3
            assert api.incidents("?since=2020-01-01T00:00:00Z&until=2020-01-02T00:00:00Z")["total"] == 0
            assert api.incidents("?since=2020-01-01T00:00:00Z")["total"] == 3
            for bad in ("?status=sideways", "?limit=abc", "?offset=-1", "?since=yesterday"):
                assert_problem(api.call("GET", "/api/incidents" + bad, role="viewer"), 400)
            assert_problem(api.call("GET", "/api/incidents/999999", role="viewer"), 404)

            # Lifecycle of the first one.
            iid = first["id"]
            path = f"/api/incidents/{iid}"
            got = api.incident(iid)
            assert got["id"] == iid and timeline_kinds(got)[0] == "opened", got
            assert isinstance(got["notifications"], list), got
            acked = api.ok("POST", path + "/acknowledge", {"note": "looking"})
            assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "e2e-responder", acked
            assert acked["acknowledged_at_ms"] >= first["opened_at_ms"] and acked["version"] > first["version"], acked
            again = api.ok("POST", path + "/acknowledge")
            assert again["version"] == acked["version"] and again["status"] == "acknowledged", again
            noted = api.ok("POST", path + "/notes", {"text": "restarted the pod"})
            assert noted["version"] > acked["version"], noted
            raised = api.ok("POST", path + "/severity", {"severity": "critical"})
            assert raised["severity"] == "critical", raised
            assert_problem(api.call("POST", path + "/severity", {"severity": "apocalyptic"}), 400, "severity")
            moved = api.ok("POST", path + "/reassign", {"assignee": "alice"})
            assert moved["assignee"] == "alice", moved
            done = api.ok("POST", path + "/resolve", {"note": "freed space"})
            assert done["status"] == "resolved" and done["resolved_by"] == "e2e-responder", done
            assert done["resolved_at_ms"] >= done["acknowledged_at_ms"], done
            assert api.ok("POST", path + "/resolve")["version"] == done["version"]
            assert_problem(api.call("POST", path + "/acknowledge", {}), 409)
            assert_problem(api.call("POST", path + "/reassign", {"assignee": "bob"}), 409)
            assert_problem(api.call("POST", path + "/acknowledge", {}, role="viewer"), 403)
            assert_problem(api.call("POST", path + "/notes", {"text": "x"}, role=None), 401)

            detail = api.incident(iid)
            kinds = timeline_kinds(detail)
            order = ["opened", "acknowledged", "note", "severity_changed", "reassigned", "resolved"]
            positions = [kinds.index(k) for k in order]
            assert positions == sorted(positions), kinds
            assert kinds.count("acknowledged") == 1 and kinds.count("resolved") == 1, kinds
            note = detail["timeline"][kinds.index("note")]
            assert "restarted the pod" in json.dumps(note) and note["actor"] == "e2e-responder", note
            assert all(set(e) >= {"at_ms", "kind", "actor", "text", "detail"} for e in detail["timeline"]), detail
            assert api.incidents("?status=resolved")["total"] == 1

            # Bad requests: each a 4xx problem with a precise detail.
            assert_problem(api.call("POST", "/api/incidents", raw=b"{not json"), 400)
            assert_problem(api.call("POST", "/api/incidents", {"title": 5, "service": "db"}), 400, "title")
            assert_problem(api.call("POST", "/api/incidents", {"title": "x", "service": "db", "bogus": 1}),
                           400, "bogus")
            assert_problem(api.call("POST", "/api/incidents", {"service": "db"}), 400, "title")
            assert_problem(api.call("POST", "/api/incidents", raw=b"[1,2]"), 400)
            assert_problem(api.call("POST", "/api/incidents", {"title": "x" * 100_000, "service": "db"}), 413)
            assert_problem(api.call("POST", f"/api/incidents/{second['id']}/notes", {"text": ["a"]}), 400, "text")
            assert_problem(api.call("POST", f"/api/incidents/{second['id']}/severity", {}), 400, "severity")
            assert_problem(api.call("POST", "/api/incidents/999999/acknowledge", {}), 404)
            assert api.incidents()["total"] == 3, "a refused write must not create anything"

            # The audit log names every write with the token that made it; admin only.
            assert_problem(api.call("GET", "/api/audit", role="responder"), 403)
            audit = api.ok("GET", "/api/audit?limit=1000", role="admin")
            mine = [e for e in audit["entries"] if e["actor"] == "e2e-responder"]
            assert len(mine) >= 8 and audit["total"] >= len(mine), audit
            assert all(e["role"] == "responder" and e["at_ms"] > 0 for e in mine), mine
            for incident_id in ids:
                assert any(re.search(rf"\b{incident_id}\b", e["target"]) for e in mine), (incident_id, mine)
            actions = " ".join(e["action"] for e in mine)
            for word in ("acknowledge", "resolve", "reassign", "severity", "note"):
                assert word in actions, (word, actions)
            page = api.ok("GET", "/api/audit?limit=2&offset=1", role="admin")
            assert len(page["entries"]) == 2 and page["total"] == audit["total"], page

            # Commands racing a resolve are all answered: the incident's actor retires after
            # the resolve, and a command the manager forwarded meanwhile used to be dropped
            # with it, leaving the request hanging (seen once in a clean-clone run).
            race_path = f"/api/incidents/{third['id']}"
            outcomes = []

            def hammer():
                for n in range(6):
                    for what, doc in (("/resolve", {}), ("/notes", {"text": f"race {n}"})):
                        try:
                            outcomes.append(api.call("POST", race_path + what, doc).status)
                        except Exception as e:  # a timeout is the failure this looks for
                            outcomes.append(repr(e))

            workers = [threading.Thread(target=hammer) for _ in range(6)]
            for w in workers:
                w.start()
            resolved = api.ok("POST", race_path + "/resolve", {"note": "racing"})
            assert resolved["status"] == "resolved", resolved
            for w in workers:
                w.join()
            assert len(outcomes) == 72 and all(o in (200, 409) for o in outcomes), outcomes
            assert api.incident(third["id"])["status"] == "resolved"
        finally:
            rig.close()


def test_oncall_daily_rotation():
    with Workdir() as wd:
        rig = Rig()
        try:
            wk = start_plain(rig, wd, ONCALL)
            api = Api(wk)

            def on_call(at):
                doc = api.ok("GET", f"/api/oncall?at={at}&schedule=primary", role="viewer")
                (only,) = doc["schedules"]
                assert only["name"] == "primary", doc
                return doc, only

            doc, primary = on_call(JAN5_9H_MS + 3600_000)
            assert doc["at_ms"] == JAN5_9H_MS + 3600_000, doc
            assert primary["on_call"] == {"id": "alice", "name": "Alice Example"}, primary
            shifts = primary["shifts"]
            assert 7 <= len(shifts) <= 8 and shifts[0]["user"] == "alice", shifts
            assert all(b["start_ms"] == a["end_ms"] and a["user"] != b["user"] for a, b in zip(shifts, shifts[1:])), shifts
            assert all(s["end_ms"] - s["start_ms"] == DAY_MS for s in shifts[1:-1]), shifts
            assert shifts[0]["start_ms"] <= doc["at_ms"] < shifts[0]["end_ms"], shifts

            assert on_call("2026-01-06T10:00:00Z")[1]["on_call"]["id"] == "bob"
            assert on_call(JAN5_9H_MS + 2 * DAY_MS - 1)[1]["on_call"]["id"] == "bob"
            assert on_call(JAN5_9H_MS + 2 * DAY_MS)[1]["on_call"]["id"] == "alice"
            assert on_call("2026-03-01T12:00:00Z")[1]["on_call"]["id"] == "bob"  # 55 turns later
            assert on_call(JAN5_9H_MS - 1)[1]["on_call"] is None  # before the rotation starts

            every = api.ok("GET", f"/api/oncall?at={JAN5_9H_MS}", role="viewer")
            assert [s["name"] for s in every["schedules"]] == ["primary"], every
            assert_problem(api.call("GET", "/api/oncall?at=tomorrow", role="viewer"), 400, "at")
            r = api.call("GET", "/api/oncall?schedule=nope", role="viewer")
            assert r.status in (400, 404), (r.status, r.body)
            assert_problem(r, r.status, "nope")
            assert api.call("GET", "/api/oncall", role="viewer").status == 200  # at defaults to now
        finally:
            rig.close()


GROUP_RULES = """groups:
  - name: grouping
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
      - alert: CheckFailing
        expr: probe_success == 0
        for: 2s
        labels:
          severity: warning
"""


def test_alerts_group_auto_resolve_and_reopen():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            cfg = config(service_yaml("api", target, write_rules(wd, GROUP_RULES)),
                         incidents_yaml(reopen_window="10m") +
                         notifications_yaml(sink, [("hook", "webhook")], ["hook"]), scrape="250ms", health="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            api = Api(wk)
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")

            target.fail()
            inc = api.wait_incident("?service=api", lambda i: len(i["alerts"]) == 2, 15, "second alert joined")
            assert api.incidents("?service=api")["total"] == 1
            assert {a["alertname"] for a in inc["alerts"]} == {"TargetDown", "CheckFailing"}, inc
            assert all(a["firing"] and not a["related"] for a in inc["alerts"]), inc
            assert inc["severity"] == "critical", inc  # the most urgent of its alerts
            assert timeline_kinds(api.incident(inc["id"])).count("alert_joined") >= 1

            target.recover()
            done = api.wait_incident("?service=api", lambda i: i["status"] == "resolved", 15, "auto resolve")
            assert done["id"] == inc["id"] and all(not a["firing"] for a in done["alerts"]), done
            assert "resolved" in timeline_kinds(api.incident(inc["id"]))
            sink.wait("/webhook/hook", hook_status("resolved"), 10, "resolve sent")

            target.fail()
            again = api.wait_incident("?service=api", lambda i: i["status"] == "triggered", 15, "reopened")
            assert again["id"] == inc["id"] and again["reopen_count"] == 1, again
            assert api.incidents("?service=api")["total"] == 1
            assert "reopened" in timeline_kinds(api.incident(inc["id"]))
            sink.wait("/webhook/hook", hook_status("firing"), 10, "trigger after reopen", count=2)
            time.sleep(1)
            triggers = [delivery(r) for r in sink.requests(path="/webhook/hook") if hook_status("firing")(r)]
            assert len(triggers) == 2, triggers
            # The contract: "<incident_id>:<transition>:<n>", n = the reopen count.
            assert triggers == [f"{inc['id']}:triggered:0", f"{inc['id']}:triggered:1"], triggers
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()


DOWN_RULES = """groups:
  - name: down
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
"""


def test_dependency_suppression():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target_db = rig.add(TargetServer(wd, "target-db"))
            target_api = rig.add(TargetServer(wd, "target-api"))
            sink = rig.add(NotifySink(wd))
            rules = write_rules(wd, DOWN_RULES)
            cfg = config(service_yaml("db", target_db, rules) +
                         service_yaml("api", target_api, rules, depends_on=["db"]),
                         incidents_yaml() + notifications_yaml(sink, [("hook", "webhook")], ["hook"]),
                         scrape="250ms", health="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            api = Api(wk)
            wait_for(lambda: all(s["scrape"]["up"] for s in wk.services().values()), 10, "both scraped")

            target_db.fail()
            root = api.wait_incident("?service=db", lambda i: True, 10, "db incident")
            sink.wait("/webhook/hook", is_2xx, 10, "db paged")
            target_api.fail()
            joined = wait_for(lambda: (lambda d: d if any(a["service"] == "api" for a in d["alerts"]) else None)(
                api.incident(root["id"])), 15, "api's alert joins db's incident")
            related = [a for a in joined["alerts"] if a["service"] == "api"]
            assert len(related) == 1 and related[0]["related"] is True, joined["alerts"]
            assert [a["related"] for a in joined["alerts"] if a["service"] == "db"] == [False], joined["alerts"]
            assert "related_alert_joined" in timeline_kinds(joined), timeline_kinds(joined)
            time.sleep(3)
            own = [i for i in api.incidents("?service=api")["incidents"] if i["related_to"] in (None, 0)]
            assert own == [], own
            pages = sink.requests(path="/webhook/hook")
            assert len(pages) == 1 and delivery(pages[0]).startswith(f"{root['id']}:triggered:"), \
                [delivery(r) for r in pages]
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()


if __name__ == "__main__":
    run_tests([test_rest_lifecycle_and_errors, test_oncall_daily_rotation, test_alerts_group_auto_resolve_and_reopen,
               test_dependency_suppression])
