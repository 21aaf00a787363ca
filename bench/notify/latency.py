#!/usr/bin/env python3
"""Driver of bench/notify/run.sh: the real binary, the test target and the notification sink;
per run the target fails at a random phase of the scrape interval, the time to the sink's first
request is recorded, then the target recovers and the resolve is awaited. Standard library only.

    latency.py --binary B --database-url URL --runs N --workdir DIR
"""

import argparse
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))

import harness  # noqa: E402
from harness import TargetServer, Watchkeeper, wait_for, write_rules  # noqa: E402
from notify_harness import (NotifySink, Rig, config, extra_env, incidents_yaml,  # noqa: E402
                            notifications_yaml, service_yaml)

TARGET_P50_MS = 500
TARGET_P99_MS = 1100
INTERVAL_S = 1.0
RULES = """groups:
  - name: bench
    rules:
      - alert: TargetDown
        expr: up == 0
        labels:
          severity: critical
      - alert: CheckDown
        expr: probe_success == 0
        labels:
          severity: critical
"""


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def first_request(sink, since, predicate, timeout, what):
    def found():
        for r in sink.requests(since=since):
            if predicate(r):
                return r
        return None
    return wait_for(found, timeout, what, interval=0.01)


def firing(r):
    return (r["json"] or {}).get("status") == "firing"


def resolved(r):
    return (r["json"] or {}).get("status") == "resolved"


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    harness.BINARY = args.binary

    rig = Rig()
    wd = args.workdir
    try:
        target = rig.add(TargetServer(wd))
        sink = rig.add(NotifySink(wd))
        # reopen_window 1ms: every run opens a fresh incident rather than reopening the last.
        cfg = config(service_yaml("api", target, write_rules(wd, RULES)),
                     incidents_yaml(reopen_window="1ms") +
                     notifications_yaml(sink, [("hook", "webhook")], ["hook"]) +
                     "logging: {level: warn}\n", scrape="1s", health="1s")
        wk = rig.add(Watchkeeper(wd, cfg, args.database_url, extra_env=extra_env()))
        wait_for(lambda: wk.services()["api"]["scrape"]["up"], 15, "api scraped")
        time.sleep(2)

        down_ms, up_ms = [], []
        for run in range(args.runs):
            # A failure lands at a random phase of the scrape and check schedule.
            time.sleep(random.uniform(0, INTERVAL_S))
            since = sink.requests()[-1]["index"] + 1 if sink.requests() else 0
            failed_ns = time.monotonic_ns()
            target.fail()
            page = first_request(sink, since, firing, 15, f"run {run + 1}: first notification")
            down_ms.append((page["mono_ns"] - failed_ns) / 1e6)
            time.sleep(random.uniform(0, INTERVAL_S))
            recovered_ns = time.monotonic_ns()
            target.recover()
            done = first_request(sink, page["index"] + 1, resolved, 15, f"run {run + 1}: resolve")
            up_ms.append((done["mono_ns"] - recovered_ns) / 1e6)
            print(f"run {run + 1:3d}: down -> first notification {down_ms[-1]:7.1f} ms, "
                  f"recovered -> resolve {up_ms[-1]:7.1f} ms", flush=True)
            time.sleep(0.5)

        errors = sink.errors()
        print()
        print(f"notify latency over {args.runs} runs (1 s scrape and check, rules without `for`, "
              f"webhook receiver, PostgreSQL with fsync on):")
        for label, values in (("down -> first notification", down_ms), ("recovered -> resolve", up_ms)):
            v = sorted(values)
            print(f"  {label:28s} p50 {percentile(v, 50):7.1f} ms  p90 {percentile(v, 90):7.1f} ms  "
                  f"p99 {percentile(v, 99):7.1f} ms  max {v[-1]:7.1f} ms  min {v[0]:7.1f} ms")
        v = sorted(down_ms)
        p50, p99 = percentile(v, 50), percentile(v, 99)
        verdict = "MEETS" if p50 <= TARGET_P50_MS and p99 <= TARGET_P99_MS else "MISSES"
        print(f"  target: p50 <= {TARGET_P50_MS} ms and p99 <= {TARGET_P99_MS} ms -> {verdict} "
              f"(p50 {p50:.0f} ms, p99 {p99:.0f} ms)")
        print(f"  payload problems seen by the sink: {len(errors)}")
        for path, problems in errors[:5]:
            print(f"    {path}: {problems}")
        return 0 if not errors else 1
    finally:
        rig.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
