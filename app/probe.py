"""The charts' `helm test` checks, run inside the cluster from the project's images:

    python -m app.probe tcp HOST:PORT --expect open|closed     a network policy admits (or denies) a flow
    python -m app.probe flink-job REST_URL JOB_NAME            the job runs (the JobManager's REST API)
    python -m app.probe prometheus-rules URL GROUP ...         Prometheus evaluates the groups without error

Each prints what it found and exits 0, or names what is wrong and exits 1.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import urllib.error
import urllib.request


class ProbeFailed(Exception):
    pass


def _get_json(url: str, timeout: float) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise ProbeFailed(f"GET {url}: {exc}") from None


def tcp(address: str, expect_open: bool, timeout: float) -> str:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            is_open = True
    except OSError as exc:
        is_open, reason = False, exc
    if is_open != expect_open:
        found = "accepts connections" if is_open else f"is unreachable ({reason})"
        raise ProbeFailed(f"{address} {found}; expected it {'open' if expect_open else 'closed'}")
    return f"{address} is {'open' if is_open else 'closed'}, as expected"


def flink_job(rest_url: str, name: str, timeout: float) -> str:
    """One job named `name` is RUNNING (Flink's REST API, GET /jobs/overview)."""
    jobs = _get_json(f"{rest_url.rstrip('/')}/jobs/overview", timeout).get("jobs", [])
    states = [job.get("state") for job in jobs if job.get("name") == name]
    if states != ["RUNNING"]:
        raise ProbeFailed(f"{rest_url}: job {name!r} states {states or 'none'}; expected one RUNNING")
    return f"{rest_url}: job {name!r} RUNNING"


def prometheus_rules(url: str, groups: list[str], timeout: float) -> str:
    """Every group is loaded and each of its rules last evaluated without error (GET /api/v1/rules)."""
    body = _get_json(f"{url.rstrip('/')}/api/v1/rules", timeout)
    loaded = {group["name"]: group for group in body.get("data", {}).get("groups", [])}
    missing = [name for name in groups if name not in loaded]
    if missing:
        raise ProbeFailed(f"{url}: rule groups not loaded: {', '.join(missing)}")
    failing = [
        f"{name}/{rule.get('name')}: {rule.get('lastError') or rule.get('health')}"
        for name in groups
        for rule in loaded[name].get("rules", [])
        if rule.get("health") not in ("ok", "unknown")  # unknown: not evaluated yet
    ]
    if failing:
        raise ProbeFailed(f"{url}: rules failing: {'; '.join(failing)}")
    rules = sum(len(loaded[name].get("rules", [])) for name in groups)
    return f"{url}: {len(groups)} rule groups, {rules} rules, none failing"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="probe", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per connection (default 10)")
    checks = parser.add_subparsers(dest="check", required=True)
    flow = checks.add_parser("tcp", help="a TCP connection opens, or is refused or times out")
    flow.add_argument("address", help="HOST:PORT")
    flow.add_argument("--expect", choices=["open", "closed"], required=True)
    job = checks.add_parser("flink-job", help="a Flink job is RUNNING")
    job.add_argument("rest_url")
    job.add_argument("name")
    rules = checks.add_parser("prometheus-rules", help="rule groups are loaded and evaluate")
    rules.add_argument("url")
    rules.add_argument("groups", nargs="+")
    args = parser.parse_args(argv)
    try:
        if args.check == "tcp":
            found = tcp(args.address, args.expect == "open", args.timeout)
        elif args.check == "flink-job":
            found = flink_job(args.rest_url, args.name, args.timeout)
        else:
            found = prometheus_rules(args.url, args.groups, args.timeout)
    except ProbeFailed as exc:
        print(f"probe {args.check}: {exc}", file=sys.stderr)
        return 1
    print(f"probe {args.check}: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
