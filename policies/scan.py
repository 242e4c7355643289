"""Run checkov over synthesized stacks and rendered manifests; report findings per environment."""

from __future__ import annotations

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from infra.bootstrap.venv import checkov_path
from policies.waivers import Waivers

CHECKS_DIR = Path(__file__).with_name("checks")
# KafkaTopics come from the one topic catalog, shared by every cluster environment.
CATALOG_TARGET = "topic-catalog"


class PolicyToolMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Finding:
    env: str
    file: str
    resource: str
    check_id: str
    check_name: str
    details: tuple[str, ...]
    waived_because: str | None

    @property
    def blocking(self) -> bool:
        return self.waived_because is None


@dataclass(frozen=True)
class ScanResult:
    passed: int
    findings: tuple[Finding, ...]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]


def checkov(directory: Path, framework: str) -> list[dict]:
    """checkov's JSON reports (one per check type) for `directory`; only failed checks are listed."""
    binary = checkov_path() / "bin" / "checkov"
    if not binary.exists():
        raise PolicyToolMissing(
            f"checkov is not installed at {binary}: run `python3 -m infra.bootstrap checkov`"
        )
    cmd = [
        str(binary),
        "-d",
        str(directory),
        "--framework",
        framework,
        "--external-checks-dir",
        str(CHECKS_DIR),
    ]
    cmd += ["--output", "json", "--quiet", "--skip-download", "--soft-fail"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"checkov failed (exit {proc.returncode}) on {directory}:\n{tail}") from None
    reports = report if isinstance(report, list) else [report]
    # checkov prints an empty summary (no "results") when a directory holds nothing of that framework.
    return [r for r in reports if "results" in r]


def _env_of(file_path: str, envs: list[str]) -> str:
    stack_dir = Path(file_path.lstrip("/")).parts[0]
    matches = [env for env in envs if stack_dir.startswith(f"{env}-")]
    return max(matches, key=len) if matches else stack_dir


def findings(reports: list[dict], waivers: Waivers, env_of) -> ScanResult:
    passed, found = 0, []
    for report in reports:
        passed += report["summary"]["passed"]
        for failed in report["results"]["failed_checks"]:
            env = env_of(failed["file_path"])
            found.append(
                Finding(
                    env=env,
                    file=failed["file_path"],
                    resource=failed["resource"],
                    check_id=failed["check_id"],
                    check_name=failed["check_name"],
                    details=tuple(failed.get("details") or ()),
                    waived_because=waivers.reason(failed["check_id"], env, failed["resource"]),
                )
            )
    return ScanResult(passed, tuple(sorted(found, key=lambda f: (f.env, f.check_id, f.resource))))


def scan_stacks(stacks_dir: Path, envs: list[str], waivers: Waivers) -> ScanResult:
    return findings(checkov(stacks_dir, "terraform_json"), waivers, lambda path: _env_of(path, envs))


def scan_charts(stacks_dir: Path, envs: list[str], waivers: Waivers) -> ScanResult:
    """checkov's Kubernetes checks over each environment's platform releases (policies/charts.py renders)."""
    from policies.charts import render_releases

    with tempfile.TemporaryDirectory(prefix="wh-policy-") as tmp:
        manifests, values = Path(tmp) / "manifests", Path(tmp) / "values"
        for env in envs:
            stack = f"{env}-platform"
            (manifests / stack).mkdir(parents=True)
            (values / stack).mkdir(parents=True)
            render_releases(stacks_dir / stack, manifests / stack, values / stack)
        return findings(checkov(manifests, "kubernetes"), waivers, lambda path: _env_of(path, envs))


def scan_topic_catalog(waivers: Waivers) -> ScanResult:
    from app.catalog.strimzi import render_yaml

    with tempfile.TemporaryDirectory(prefix="wh-policy-") as tmp:
        (Path(tmp) / "kafka-topics.yaml").write_text(render_yaml())
        return findings(checkov(Path(tmp), "kubernetes"), waivers, lambda _path: CATALOG_TARGET)
