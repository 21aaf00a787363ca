"""End-to-end: notifications from the real binary to a real Slack/PagerDuty/webhook sink
(tests/tools/notify_sink.py, which checks every payload on receipt) and a real SMTP server.
Page on failure, acknowledge stops escalation, resolve everywhere, kill -9 between the commit
of a trigger and its delivery, a receiver failing then recovering, silences and maintenance
windows that suppress triggers but still let resolves through."""

import hashlib
import hmac
import re
import signal
import time

from harness import Database, PrivateCluster, TargetServer, Watchkeeper, Workdir, free_port, run_tests, wait_for, write_rules
from notify_harness import (HOOK_SECRET, PD_KEY, Api, NotifySink, Rig, SmtpSink, config, delivery,
                            extra_env, hook_status, incidents_yaml, is_2xx, notifications_yaml, now_ms,
                            pd_action, rfc3339, service_yaml, timeline_kinds)

RULES = """groups:
  - name: paging
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service }} is down"
"""

ALL_FOUR = [("slack", "slack"), ("pd", "pagerduty"), ("hook", "webhook"), ("mail", "email")]
PATHS = {"slack": "/slack/slack", "pd": "/pagerduty", "hook": "/webhook/hook"}


def for_incident(record, incident_id):
    """Whether a sink record belongs to the incident: by delivery key or PagerDuty dedup_key."""
    if record["kind"] == "webhook":
        return delivery(record).startswith(f"{incident_id}:")
    if record["kind"] == "pagerduty":
        return (record["json"] or {}).get("dedup_key") == f"watchkeeper/{incident_id}"
    return False


def start_paging(rig, wd, scrape="250ms"):
    """One service `api` scraped every 250 ms, TargetDown without `for`, routed to all four."""
    db = rig.add(Database())
    target = rig.add(TargetServer(wd))
    sink = rig.add(NotifySink(wd))
    smtp = rig.add(SmtpSink(wd, free_port()))
    notifications = notifications_yaml(sink, ALL_FOUR, [n for n, _ in ALL_FOUR], smtp.port)
    cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                 incidents_yaml() + notifications, scrape=scrape)
    wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
    wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
    return target, sink, smtp, wk


def wait_triggers(sink, smtp):
    pd = sink.wait("/pagerduty", pd_action("trigger"), 15, "PagerDuty trigger")[0]
    hook = sink.wait("/webhook/hook", hook_status("firing"), 15, "webhook trigger")[0]
    slack = sink.wait("/slack/slack", is_2xx, 15, "Slack trigger")[0]
    mail = wait_for(lambda: smtp.messages() or None, 15, "trigger email")[0]
    return slack, pd, hook, mail


def check_signature(record):
    """Both signatures, computed here independently of the sink: the documented HMAC of the raw
    body, and the timestamped one for replay protection."""
    body = record["body"].encode()
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(record["headers"]["x-watchkeeper-signature"], expected), record["headers"]
    ts = record["headers"]["x-watchkeeper-timestamp"]
    expected = "sha256=" + hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(record["headers"]["x-watchkeeper-timestamp-signature"], expected), \
        record["headers"]


def test_page_on_failure():
    with Workdir() as wd:
        rig = Rig()
        try:
            target, sink, smtp, wk = start_paging(rig, wd)
            api = Api(wk)
            assert api.incidents()["total"] == 0
            failed_ns = time.time_ns()
            target.fail()
            slack, pd, hook, mail = wait_triggers(sink, smtp)
            first_ms = (min(slack["wall_ns"], pd["wall_ns"], hook["wall_ns"]) - failed_ns) / 1e6
            print(f"  target down -> first notification: {first_ms:.0f} ms (250 ms scrape)")
            inc = api.wait_incident("?service=api&status=triggered", lambda i: True, 10, "incident listed")
            time.sleep(2)  # a second page for the same transition would arrive within this
            for name, path in PATHS.items():
                got = sink.requests(path=path)
                assert len(got) == 1 and is_2xx(got[0]), (name, got)
            assert len(smtp.messages()) == 1, [m["Subject"] for m in smtp.messages()]
            assert sink.errors() == [], sink.errors()

            incident_id = inc["id"]
            assert inc["title"] and inc["service"] == "api" and inc["severity"] == "critical", inc
            assert [a["alertname"] for a in inc["alerts"]] == ["TargetDown"], inc
            assert inc["alerts"][0]["firing"] is True and inc["alerts"][0]["service"] == "api", inc
            assert inc["opened_at_ms"] * 1_000_000 >= failed_ns - 1_000_000_000, (inc, failed_ns)

            body = pd["json"]
            assert body["routing_key"] == PD_KEY and body["payload"]["severity"] == "critical", body
            assert body["payload"]["source"] == "api", body
            assert body["dedup_key"] == f"watchkeeper/{incident_id}", body

            check_signature(hook)
            doc = hook["json"]
            assert doc["receiver"] == "hook" and doc["status"] == "firing", doc
            assert doc["alerts"][0]["labels"]["alertname"] == "TargetDown", doc
            assert doc["alerts"][0]["labels"]["service"] == "api", doc
            assert doc["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z", doc

            # Slack's mrkdwn escapes &, < and > in the fallback text.
            fallback = slack["json"]["text"].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            assert inc["title"] in fallback, (inc["title"], fallback)

            assert inc["title"] in mail["Subject"], (inc["title"], mail["Subject"])
            assert "ops@example.com" in mail["To"] and "wk@example.com" in mail["From"], dict(mail)
            assert mail["Message-ID"], dict(mail)
            envelope = smtp.envelopes()[0]
            assert envelope["rcpt_tos"] == ["ops@example.com"] and envelope["mail_from"] == "wk@example.com", envelope
            types = {part.get_content_type() for part in mail.walk()}
            assert {"text/plain", "text/html"} <= types, types

            detail = wait_for(lambda: (lambda d: d if timeline_kinds(d).count("notified") >= 4 else None)(
                api.incident(incident_id)), 10, "four notified timeline entries")
            assert timeline_kinds(detail)[0] == "opened", timeline_kinds(detail)
            assert sorted(detail["notified_receivers"]) == ["hook", "mail", "pd", "slack"], detail
            assert len(detail["notifications"]) >= 4, detail["notifications"]
            # The contract: "<incident_id>:<transition>:<n>", n = the reopen count.
            assert delivery(hook) == f"{incident_id}:triggered:0", hook["headers"]
        finally:
            rig.close()


def test_resolve_sends_resolves_everywhere():
    with Workdir() as wd:
        rig = Rig()
        try:
            target, sink, smtp, wk = start_paging(rig, wd)
            api = Api(wk)
            target.fail()
            _, pd_trigger, _, first_mail = wait_triggers(sink, smtp)
            inc = api.wait_incident("?service=api", lambda i: True, 10, "incident")
            target.recover()
            pd = sink.wait("/pagerduty", pd_action("resolve"), 15, "PagerDuty resolve")[0]
            hook = sink.wait("/webhook/hook", hook_status("resolved"), 15, "webhook resolve")[0]
            slack = sink.wait("/slack/slack", is_2xx, 15, "Slack resolve", count=2)[1]
            mails = wait_for(lambda: (lambda m: m if len(m) >= 2 else None)(smtp.messages()), 15, "resolve email")
            time.sleep(2)
            for name, path in PATHS.items():
                assert len(sink.requests(path=path)) == 2, (name, sink.requests(path=path))
            assert len(smtp.messages()) == 2
            assert sink.errors() == [], sink.errors()

            assert pd["json"]["dedup_key"] == pd_trigger["json"]["dedup_key"], (pd, pd_trigger)
            assert pd["json"]["routing_key"] == PD_KEY
            check_signature(hook)
            assert re.fullmatch(rf"{inc['id']}:resolved:\d+", delivery(hook)), hook["headers"]
            assert all(a["status"] == "resolved" for a in hook["json"]["alerts"]), hook["json"]
            assert hook["json"]["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z", hook["json"]
            assert "resolved" in slack["json"]["text"].lower(), slack["json"]["text"]
            # One mail thread per incident.
            assert first_mail["Message-ID"] in (mails[1]["In-Reply-To"] or "") + (mails[1]["References"] or ""), \
                (dict(first_mail), dict(mails[1]))
            assert "resolved" in mails[1]["Subject"].lower(), mails[1]["Subject"]

            done = api.incident(inc["id"])
            assert done["status"] == "resolved" and done["resolved_at_ms"], done
            assert done["alerts"][0]["firing"] is False and done["alerts"][0]["ends_at_ms"], done
            assert "resolved" in timeline_kinds(done), timeline_kinds(done)
        finally:
            rig.close()


ESCALATION = """escalation_policies:
  - name: esc
    repeat: 0
    levels:
      - delay: 2s
        targets: [{channel: esc0}]
      - delay: 10m
        targets: [{channel: esc1}]
"""


def test_acknowledge_stops_escalation():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target_api = rig.add(TargetServer(wd, "target-api"))
            target_web = rig.add(TargetServer(wd, "target-web"))
            sink = rig.add(NotifySink(wd))
            rules = write_rules(wd, RULES)
            receivers = [("pd", "pagerduty"), ("esc0", "webhook"), ("esc1", "webhook")]
            cfg = config(service_yaml("api", target_api, rules) + service_yaml("web", target_web, rules),
                         incidents_yaml(escalation_policy="esc") + ESCALATION +
                         notifications_yaml(sink, receivers, ["pd"]), scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            api = Api(wk)
            wait_for(lambda: all(s["scrape"]["up"] for s in wk.services().values()), 10, "both scraped")

            target_api.fail()
            target_web.fail()
            first = api.wait_incident("?service=api", lambda i: True, 10, "api incident")
            acked = api.ok("POST", f"/api/incidents/{first['id']}/acknowledge", {"note": "on it"})
            ack_ms = now_ms()
            assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "e2e-responder", acked
            assert acked["acknowledged_at_ms"] - acked["opened_at_ms"] < 1800, \
                f"the acknowledge came too late to test escalation: {acked}"
            assert acked["escalation_policy"] == "esc", acked
            other = api.wait_incident("?service=web", lambda i: True, 10, "web incident")

            # The incident nobody acknowledged escalates to level 1 after level 0's 2 s.
            page = sink.wait("/webhook/esc1", lambda r: is_2xx(r) and for_incident(r, other["id"]), 10,
                             "level 1 page for the unacknowledged incident")[0]
            after_ms = page["wall_ns"] / 1e6 - other["opened_at_ms"]
            assert 1500 <= after_ms <= 4500, f"level 1 paged {after_ms:.0f} ms after opening"
            assert delivery(page).startswith(f"{other['id']}:escalated:"), page["headers"]
            check_signature(page)
            escalated = wait_for(lambda: (lambda d: d if "escalated" in timeline_kinds(d) else None)(
                api.incident(other["id"])), 10, "escalated in the timeline")
            assert [1, 0] in escalated["escalated"], escalated["escalated"]

            # The acknowledged one: wait 4 s past the acknowledgement, level 1 never pages.
            time.sleep(max(0.0, ack_ms / 1000 + 4 - time.time()))
            late = [r for r in sink.requests(path="/webhook/esc1") if for_incident(r, first["id"])]
            assert late == [], late
            quiet = api.incident(first["id"])
            assert all(level != 1 for level, _ in quiet["escalated"]), quiet["escalated"]
            assert "acknowledged" in timeline_kinds(quiet), timeline_kinds(quiet)

            # PagerDuty hears the acknowledge under the trigger's dedup_key.
            sink.wait("/pagerduty", lambda r: pd_action("acknowledge")(r) and for_incident(r, first["id"]),
                      10, "PagerDuty acknowledge")
            assert [r for r in sink.requests(path="/pagerduty")
                    if pd_action("trigger")(r) and for_incident(r, first["id"])], sink.requests(path="/pagerduty")
            # Level 0 pages on trigger, for both incidents.
            for incident_id in (first["id"], other["id"]):
                pages = [r for r in sink.requests(path="/webhook/esc0") if is_2xx(r) and
                         for_incident(r, incident_id) and ":acknowledged:" not in delivery(r)]
                assert len(pages) == 1, [delivery(r) for r in sink.requests(path="/webhook/esc0")]
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()


def test_kill9_between_trigger_and_delivery():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            receivers = [("slack", "slack"), ("pd", "pagerduty"), ("hook", "webhook")]
            cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                         incidents_yaml() + notifications_yaml(sink, receivers, [n for n, _ in receivers]),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
            sink.fail("/", 500, 1_000_000)

            target.fail()
            wait_for(lambda: db.query("SELECT count(*) FROM notification_outbox WHERE "
                                      "transition = 'triggered' AND state = 'pending'") == "3",
                     15, "three pending trigger rows in the outbox")
            for path in PATHS.values():
                sink.wait(path, lambda r: r["status"] == 500, 10, f"a failed attempt on {path}")
            incident_id = Api(wk).wait_incident("?service=api", lambda i: True, 5, "incident")["id"]
            wk.signal(signal.SIGKILL)
            wk.wait(10)
            before = sink.requests()
            assert before and not any(is_2xx(r) for r in before), before

            sink.reset()
            wk = rig.add(Watchkeeper(wd, cfg, db.url, name="watchkeeper2", extra_env=extra_env()))
            for path in PATHS.values():
                sink.wait(path, is_2xx, 20, f"delivery on {path} after the restart")
            time.sleep(3)  # a duplicate would come within this
            after = sink.requests()
            for name, path in PATHS.items():
                delivered = [r for r in after if r["path"] == path and is_2xx(r)]
                assert len(delivered) == 1, (name, delivered)
            keys = {delivery(r) for r in before + after if r["kind"] == "webhook"}
            assert len(keys) == 1 and re.fullmatch(rf"{incident_id}:triggered:\d+", keys.pop()), keys
            dedup = {r["json"]["dedup_key"] for r in before + after if r["kind"] == "pagerduty"}
            assert dedup == {f"watchkeeper/{incident_id}"}, dedup
            assert all(pd_action("trigger")(r) for r in after if r["kind"] == "pagerduty"), after
            assert sink.errors() == [], sink.errors()
            wait_for(lambda: db.query("SELECT count(*) FROM notification_outbox WHERE "
                                      "transition = 'triggered' AND state = 'delivered'") == "3",
                     10, "the three rows delivered")
            api = Api(wk)
            assert api.incidents("?service=api")["total"] == 1, api.incidents("?service=api")
        finally:
            rig.close()


def test_receiver_failing_then_recovering():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                         incidents_yaml() + notifications_yaml(sink, [("hook", "webhook")], ["hook"]),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
            sink.fail("/webhook/hook", 429, 1, retry_after="1")
            sink.fail("/webhook/hook", 500, 2)

            target.fail()
            sink.wait("/webhook/hook", is_2xx, 20, "delivery after the failures")
            time.sleep(3)
            got = sink.requests(path="/webhook/hook")
            assert [r["status"] for r in got] == [429, 500, 500, 200], [r["status"] for r in got]
            assert len({delivery(r) for r in got}) == 1, [delivery(r) for r in got]
            assert len({r["body"] for r in got}) == 1, "a retry must send the same body"
            for r in got:
                check_signature(r)
            waited_s = (got[1]["mono_ns"] - got[0]["mono_ns"]) / 1e9
            assert waited_s >= 0.95, f"Retry-After: 1 not honoured, retried after {waited_s:.2f}s"
            assert sink.errors() == [], sink.errors()

            api = Api(wk)
            inc = api.wait_incident("?service=api", lambda i: True, 5, "incident")
            detail = wait_for(lambda: (lambda d: d if "notified" in timeline_kinds(d) else None)(
                api.incident(inc["id"])), 10, "notified in the timeline")
            notified = [e for e in detail["timeline"] if e["kind"] == "notified"]
            assert len(notified) == 1 and "hook" in str(notified[0]), notified
            assert db.query("SELECT attempts FROM notification_outbox WHERE receiver = 'hook'") == "4"
        finally:
            rig.close()


def test_reminders_until_acknowledged():
    """repeat_interval: an incident nobody acknowledges is sent again, each reminder once and
    with its own delivery key; acknowledging stops the reminders."""
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                         incidents_yaml() + notifications_yaml(sink, [("hook", "webhook")], ["hook"],
                                                               repeat_interval="2s"),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
            target.fail()
            sink.wait("/webhook/hook", hook_status("firing"), 15, "trigger")
            reminders = sink.wait("/webhook/hook", lambda r: ":reminder:" in delivery(r), 10,
                                  "two reminders", count=2)
            keys = [delivery(r) for r in reminders]
            assert len(set(keys)) == len(keys), keys
            api = Api(wk)
            inc = api.wait_incident("?service=api", lambda i: True, 5, "incident")
            api.ok("POST", f"/api/incidents/{inc['id']}/acknowledge", {"note": "on it"})
            sink.wait("/webhook/hook", lambda r: ":acknowledged:" in delivery(r), 10, "acknowledge")
            before = len([r for r in sink.requests(path="/webhook/hook") if ":reminder:" in delivery(r)])
            time.sleep(4.5)
            after = len([r for r in sink.requests(path="/webhook/hook") if ":reminder:" in delivery(r)])
            assert after == before, f"{after - before} reminders after the acknowledge"
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()


TWO_STAGE_RULES = RULES + """      - alert: TargetDownLong
        expr: up == 0
        for: 2s
        labels:
          severity: warning
"""


def test_alerts_joining_send_one_update_per_group_interval():
    """An alert joining an incident that was already sent goes out as one "updated"
    notification with every alert, after group_interval; nothing pages twice."""
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            cfg = config(service_yaml("api", target, write_rules(wd, TWO_STAGE_RULES)),
                         incidents_yaml() + notifications_yaml(sink, [("hook", "webhook")], ["hook"],
                                                               group_interval="1s"),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
            target.fail()
            first = sink.wait("/webhook/hook", hook_status("firing"), 15, "trigger")[0]
            assert len(first["json"]["alerts"]) == 1, first["json"]["alerts"]
            update = sink.wait("/webhook/hook", lambda r: ":updated:" in delivery(r), 15, "update")[0]
            names = sorted(a["labels"]["alertname"] for a in update["json"]["alerts"])
            assert names == ["TargetDown", "TargetDownLong"], names
            time.sleep(2)
            got = sink.requests(path="/webhook/hook")
            assert len([r for r in got if ":triggered:" in delivery(r)]) == 1, [delivery(r) for r in got]
            assert len([r for r in got if ":updated:" in delivery(r)]) == 1, [delivery(r) for r in got]
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()


def test_database_outage_delays_but_loses_no_page():
    """PostgreSQL stops before the target fails: nothing can be committed, so nothing is sent;
    when it returns the alert, the incident and its page go through, each once."""
    with Workdir() as wd:
        rig = Rig()
        cluster = PrivateCluster(wd)
        try:
            target = rig.add(TargetServer(wd))
            sink = rig.add(NotifySink(wd))
            cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                         incidents_yaml() + notifications_yaml(sink, [("hook", "webhook")], ["hook"]),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, cluster.url, extra_env=extra_env()))
            wait_for(lambda: wk.services()["api"]["scrape"]["up"], 10, "api scraped")
            cluster.stop()
            target.fail()
            time.sleep(3)
            assert sink.requests(path="/webhook/hook") == [], "a page went out before its commit"
            # A write during the outage is accepted (202), not lost, and committed later.
            api = Api(wk)
            r = api.call("POST", "/api/incidents", {"title": "manual during outage", "service": "ops"})
            assert r.status == 202, (r.status, r.body)
            manual_id = r.json()["id"]
            cluster.start()
            sink.wait("/webhook/hook", lambda r: hook_status("firing")(r) and "api" in r["body"], 30,
                      "the alert's trigger after the database returned")
            sink.wait("/webhook/hook", lambda r: delivery(r).startswith(f"{manual_id}:"), 30,
                      "the manual incident's trigger")
            time.sleep(2)
            got = sink.requests(path="/webhook/hook")
            triggers = [delivery(r) for r in got if ":triggered:" in delivery(r)]
            assert len(triggers) == 2 and len(set(triggers)) == 2, triggers
            assert api.ok("GET", f"/api/incidents/{manual_id}", role="viewer")["title"] == "manual during outage"
            assert wk.alive(), "watchkeeper died during the outage"
            assert sink.errors() == [], sink.errors()
        finally:
            rig.close()
            cluster.stop()


def silence_yaml():
    start_ms = now_ms() - 10 * 60 * 1000
    return f"""silences:
  - {{matchers: ['service="nothing"'], starts_at: {rfc3339(now_ms() - 3600_000)},
     ends_at: {rfc3339(now_ms() + 86400_000)}, created_by: ops, comment: "configured"}}
maintenance_windows:
  - {{name: db-patch, matchers: ['service="db"'], start: "{rfc3339(start_ms)}", time_zone: UTC,
     duration: 2h, repeat: daily, comment: "patching"}}
"""


def test_silence_and_maintenance_suppress_but_resolve_still_sent():
    with Workdir() as wd:
        rig = Rig()
        try:
            db = rig.add(Database())
            targets = {name: rig.add(TargetServer(wd, "target-" + name)) for name in ("api", "web", "db")}
            sink = rig.add(NotifySink(wd))
            rules = write_rules(wd, RULES)
            receivers = [("pd", "pagerduty"), ("hook", "webhook")]
            cfg = config("".join(service_yaml(n, t, rules) for n, t in targets.items()),
                         incidents_yaml() + silence_yaml() + notifications_yaml(sink, receivers, ["pd", "hook"]),
                         scrape="250ms")
            wk = rig.add(Watchkeeper(wd, cfg, db.url, extra_env=extra_env()))
            api = Api(wk)
            wait_for(lambda: all(s["scrape"]["up"] for s in wk.services().values()), 10, "all scraped")

            windows = api.ok("GET", "/api/maintenance", role="viewer")
            patch = [w for w in (windows.get("windows") or windows.get("maintenance_windows") or [])
                     if w.get("name") == "db-patch"]
            assert patch and patch[0]["active"] is True, windows

            # web pages before any silence covers it.
            targets["web"].fail()
            web = api.wait_incident("?service=web", lambda i: True, 10, "web incident")
            sink.wait("/webhook/hook", lambda r: hook_status("firing")(r) and for_incident(r, web["id"]), 10, "web trigger")
            sink.wait("/pagerduty", lambda r: pd_action("trigger")(r) and for_incident(r, web["id"]), 10, "web PD trigger")

            def silence(service):
                doc = {"matchers": [f'service="{service}"'], "starts_at": rfc3339(now_ms() - 60_000),
                       "ends_at": rfc3339(now_ms() + 3600_000), "comment": "e2e " + service}
                assert api.call("POST", "/api/silences", doc, role="viewer").status == 403
                return api.ok("POST", "/api/silences", doc, status=201)

            api_silence = silence("api")
            silence("web")
            listed = api.ok("GET", "/api/silences", role="viewer")["silences"]
            mine = [s for s in listed if s.get("id") == api_silence["id"]]
            assert mine and mine[0]["active"] is True, listed

            targets["api"].fail()
            targets["db"].fail()
            api_inc = api.wait_incident("?service=api", lambda i: True, 10, "api incident (evaluation goes on)")
            db_inc = api.wait_incident("?service=db", lambda i: True, 10, "db incident (evaluation goes on)")
            time.sleep(3)
            for inc in (api_inc, db_inc):
                paged = [r for r in sink.requests() if for_incident(r, inc["id"])]
                assert paged == [], (inc["service"], paged)
                detail = api.incident(inc["id"])
                assert detail["notified_receivers"] == [], detail
                assert "suppressed" in timeline_kinds(detail), (inc["service"], timeline_kinds(detail))

            # Resolves: web was paged before its silence, so it still hears the resolve; api and
            # db were never paged, so nothing is sent for them.
            for target in targets.values():
                target.recover()
            sink.wait("/webhook/hook", lambda r: hook_status("resolved")(r) and for_incident(r, web["id"]), 15, "web resolve")
            sink.wait("/pagerduty", lambda r: pd_action("resolve")(r) and for_incident(r, web["id"]), 15, "web PD resolve")
            for inc in (api_inc, db_inc):
                api.wait_incident(f"?service={inc['service']}", lambda i: i["status"] == "resolved", 15,
                                  inc["service"] + " resolved")
            time.sleep(2)
            for inc in (api_inc, db_inc):
                assert [r for r in sink.requests() if for_incident(r, inc["id"])] == [], inc["service"]
            assert sink.errors() == [], sink.errors()

            # API silences expire on DELETE; configured ones are read-only.
            r = api.call("DELETE", f"/api/silences/{api_silence['id']}")
            assert r.status in (200, 204), (r.status, r.body)
            listed = api.ok("GET", "/api/silences", role="viewer")["silences"]
            assert [s["active"] for s in listed if s.get("id") == api_silence["id"]] == [False], listed
            configured = [s for s in listed if s.get("source") == "config" or s.get("comment") == "configured"]
            assert configured, listed
            r = api.call("DELETE", f"/api/silences/{configured[0]['id']}")
            assert r.status == 409, (r.status, r.body)
        finally:
            rig.close()


if __name__ == "__main__":
    run_tests([test_page_on_failure, test_resolve_sends_resolves_everywhere, test_acknowledge_stops_escalation,
               test_kill9_between_trigger_and_delivery, test_receiver_failing_then_recovering,
               test_silence_and_maintenance_suppress_but_resolve_still_sent,
               test_reminders_until_acknowledged, test_alerts_joining_send_one_update_per_group_interval,
               test_database_outage_delays_but_loses_no_page])
