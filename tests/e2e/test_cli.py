"""End-to-end: the command line (check-config, --version, --help, bad arguments, a config that
does not validate, no database) and the container files."""

import os
import subprocess

from harness import BINARY, ROOT, Workdir, run_tests


def run(*args, env=None):
    return subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=30, env=env)


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("watchkeeper "), r
    r = run("--help")
    assert r.returncode == 0 and "check-config" in r.stdout, r
    r = run("frobnicate")
    assert r.returncode == 2 and "unknown command" in r.stderr, r


def test_check_config():
    env = dict(os.environ, WATCHKEEPER_ADMIN_TOKEN="x" * 20)
    r = run("check-config", os.path.join(ROOT, "config", "watchkeeper.yaml"), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    # The example's admin token comes from the environment; unset, it is an error naming it.
    env.pop("WATCHKEEPER_ADMIN_TOKEN")
    r = run("check-config", os.path.join(ROOT, "config", "watchkeeper.yaml"), env=env)
    assert r.returncode == 1 and "WATCHKEEPER_ADMIN_TOKEN" in r.stderr, r
    with Workdir() as wd:
        bad = os.path.join(wd, "bad.yaml")
        with open(bad, "w") as f:
            f.write("server:\n  listen: \"0.0.0.0:3006\"\nservices:\n  - name: a\n    metrics:\n      url: http://x/metrics\n      intervl: 5s\n")
        r = run("check-config", bad)
        assert r.returncode == 1, r
        assert f"{bad}:7:" in r.stderr and "intervl" in r.stderr, r.stderr
        empty = os.path.join(wd, "empty.yaml")
        open(empty, "w").close()
        r = run("check-config", empty)
        assert r.returncode == 1 and "is empty" in r.stderr, r
        # serve refuses to start on the same file, naming the error.
        r = run("serve", "--config", bad)
        assert r.returncode == 2 and "intervl" in r.stderr, r


def test_serve_without_database_explains():
    env = dict(os.environ)
    env.pop("WATCHKEEPER_DATABASE_URL", None)
    with Workdir() as wd:
        cfg = os.path.join(wd, "c.yaml")
        with open(cfg, "w") as f:
            f.write("services: []\n")
        r = run("serve", "--config", cfg, env=env)
        assert r.returncode == 2 and "WATCHKEEPER_DATABASE_URL" in r.stderr, r


def test_promql_test_command():
    shared = os.path.join(os.path.dirname(ROOT), "shared", "data", "promql")
    files = [os.path.join(shared, f) for f in ("literals.test", "selectors.test")]
    r = run("promql-test", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().splitlines()[-1] == "56 passed, 0 failed, 0 skipped", r.stdout
    with Workdir() as wd:
        bad = os.path.join(wd, "bad.test")
        with open(bad, "w") as f:
            f.write("load 5m\n  m 1 2 3\n\neval instant at 10m m\n  m 42\n")
        r = run("promql-test", bad)
        assert r.returncode == 1, r
        assert r.stdout.startswith("FAIL ") and r.stdout.strip().endswith("0 passed, 1 failed, 0 skipped"), r.stdout


def test_compose_file_is_valid():
    env = dict(os.environ, WATCHKEEPER_ADMIN_TOKEN="x" * 20)
    r = subprocess.run(["docker-compose", "-f", os.path.join(ROOT, "compose.yaml"), "config", "-q"],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(ROOT, "Dockerfile")) as f:
        text = f.read()
    assert text.count("FROM debian:12") == 2, "multi-stage on Debian 12"
    assert 'CMD ["serve", "--config", "/etc/watchkeeper/watchkeeper.yaml"]' in text
    # The image runs the example configuration with compose's environment.
    r = run("check-config", os.path.join(ROOT, "config", "watchkeeper.yaml"),
            env=dict(os.environ, WATCHKEEPER_ADMIN_TOKEN="x" * 20,
                     NODE_EXPORTER_URL="http://node-exporter:9100"))
    assert r.returncode == 0, r.stdout + r.stderr


if __name__ == "__main__":
    run_tests([test_version_and_help, test_check_config, test_serve_without_database_explains,
               test_promql_test_command, test_compose_file_is_valid])
