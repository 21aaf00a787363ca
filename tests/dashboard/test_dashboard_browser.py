"""End-to-end: headless Chromium (Debian's chromium, driven by playwright-core through
browser_test.mjs) against the real binary. Sign in, see a service up, fail its target, see it go
down live within the check interval + 2 s, screenshot; when the server manages incidents,
acknowledge the incident with the button and check the change over REST.

Environment (set by tests/dashboard/CMakeLists.txt): WK_BINARY, WK_WEB_DIST (the built assets,
passed to the binary as WATCHKEEPER_WEB_DIR), WK_WEB_NODE_MODULES (holds playwright-core),
WK_TEST_OUTPUT_DIR (screenshots), WK_TEST_DATABASE_URL (from scripts/test.sh)."""

import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

from harness import (ADMIN_TOKEN, BINARY, ROOT, Database, TargetServer, Watchkeeper, Workdir,  # noqa: E402
                     base_config, bearer, http, run_tests, wait_for)

CHROMIUM = os.environ.get("WK_CHROMIUM", "/usr/bin/chromium")
WEB_DIST = os.environ.get("WK_WEB_DIST", os.path.join(ROOT, "build", "web", "dist"))
NODE_MODULES = os.environ.get("WK_WEB_NODE_MODULES", os.path.join(ROOT, "build", "web", "node_modules"))
OUTPUT_DIR = os.environ.get("WK_TEST_OUTPUT_DIR",
                            os.path.join(ROOT, "build", "tests", "dashboard", "e2e_dashboard"))
CHECK_INTERVAL_MS = 1000
SERVICE = "shop"

RULES = """groups:
  - name: dashboard-e2e
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.service }} is not answering scrapes"
"""


def services_yaml(target, rules_path):
    return f"""
  - name: db
    health:
      - name: port
        type: tcp
        address: "127.0.0.1:{target.port}"
  - name: {SERVICE}
    depends_on: [db]
    rule_files: [{rules_path}]
    metrics:
      url: {target.url}/metrics?series=5
    health:
      - name: http
        type: http
        url: {target.url}/health
        expected_status: [200]
"""


def require_tools():
    problems = []
    if not (os.path.isfile(BINARY) and os.access(BINARY, os.X_OK)):
        problems.append(f"no watchkeeper binary at {BINARY} (set WK_BINARY)")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"chromium is missing at {CHROMIUM}: apt-get install -y chromium "
                        "(scripts/setup.sh installs it)")
    if not shutil.which("node"):
        problems.append("node is not on PATH")
    if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
        problems.append(f"playwright-core is missing in {NODE_MODULES}: build the wk_web_assets "
                        "target (npm ci of web/)")
    if not os.path.isfile(os.path.join(WEB_DIST, "index.html")):
        problems.append(f"no built dashboard in {WEB_DIST}: build the wk_web_assets target")
    if problems:
        raise AssertionError("cannot run the browser test:\n  " + "\n  ".join(problems))


def incidents_served(wk):
    """True when GET /api/incidents exists; 404 means incidents have not landed yet."""
    r = http("GET", wk.url + "/api/incidents", headers=bearer(ADMIN_TOKEN))
    if r.status == 404:
        return False
    assert r.status == 200, f"GET /api/incidents answered {r.status}: {r.body[:300]!r}"
    return True


def test_dashboard_goes_down_live_and_acknowledges():
    require_tools()
    with Workdir() as wd:
        db = Database()
        target = TargetServer(wd)
        rules_path = os.path.join(wd, "rules.yml")
        with open(rules_path, "w") as f:
            f.write(RULES)
        wk = Watchkeeper(wd, base_config(services_yaml(target, rules_path)), db.url,
                         extra_env={"WATCHKEEPER_WEB_DIR": WEB_DIST})
        try:
            page = http("GET", wk.url + "/dashboard")
            assert page.status == 200 and page.headers.get("content-type", "").startswith("text/html"), (
                f"the binary does not serve the dashboard: GET /dashboard answered {page.status} "
                f"{page.body[:200]!r} (is the asset_server routed, and WATCHKEEPER_WEB_DIR honoured?)")
            wait_for(lambda: wk.services()[SERVICE]["state"] == "up", 20, f"{SERVICE} up over REST")
            with_incidents = incidents_served(wk)
            if not with_incidents:
                print("NOT YET TESTABLE: GET /api/incidents answers 404, so the acknowledge-from-the-"
                      "button part was skipped; everything else ran.", flush=True)

            os.makedirs(OUTPUT_DIR, exist_ok=True)
            args = {
                "base_url": wk.url,
                "token": ADMIN_TOKEN,
                "service": SERVICE,
                "target_url": target.url,
                "live_budget_ms": CHECK_INTERVAL_MS + 2000,
                "screenshot_dir": OUTPUT_DIR,
                "node_modules": NODE_MODULES,
                "chromium": CHROMIUM,
                "incidents": with_incidents,
            }
            run = subprocess.run(["node", os.path.join(HERE, "browser_test.mjs"), json.dumps(args)],
                                 capture_output=True, text=True, timeout=180)
            sys.stdout.write(run.stdout)
            sys.stderr.write(run.stderr)
            assert run.returncode == 0, f"browser_test.mjs failed: {run.stderr.strip()[-500:]}"
            line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")]
            assert line, "browser_test.mjs printed no RESULT line"
            result = json.loads(line[-1][len("RESULT "):])
            assert result["live_ms"] <= CHECK_INTERVAL_MS + 2000, result
            for path in result["screenshots"]:
                assert os.path.getsize(path) > 10_000, f"screenshot {path} looks empty"
            print(f"live: card down {result['live_ms']} ms after the target failed; "
                  f"screenshots in {OUTPUT_DIR}", flush=True)

            if with_incidents:
                incident_id = result["incident_id"]
                r = http("GET", wk.url + "/api/incidents", headers=bearer(ADMIN_TOKEN))
                incidents = {str(i["id"]): i for i in r.json()["incidents"]}
                assert incidents[incident_id]["status"] == "acknowledged", incidents.get(incident_id)
                assert incidents[incident_id]["acknowledged_at_ms"], incidents[incident_id]
        finally:
            wk.stop()
            target.stop()
            db.close()


if __name__ == "__main__":
    run_tests([test_dashboard_goes_down_live_and_acknowledges])
