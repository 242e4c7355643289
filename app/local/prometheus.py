"""A throwaway Prometheus server and Pushgateway (Debian packages) on loopback, for local runs and tests.

    with Pushgateway() as gateway, Prometheus({}, pushed={"flink": gateway}, rule_files=[...]) as prom:
        prom.query('sum(pipeline_messages_processed_total)')

Prometheus scrapes every target each second and evaluates the rule files as often, so a short local run
has enough samples for rates; its data lives in a temp dir removed on stop. The Pushgateway is where the
Flink mini-cluster pushes its metrics: Flink's pull reporter can only listen on every interface, and
everything local listens on 127.0.0.1 (the cluster's FlinkDeployments use the pull reporter, port 9249).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

import orjson
import yaml

from app.local.toolchain import toolchain
from infra.bootstrap import debs
from infra.process import (
    LocalService,
    ManagedProcess,
    ServiceError,
    free_port,
    require_free_port,
    service_workdir,
)

READY_TIMEOUT = 60.0
SCRAPE_INTERVAL = "1s"


class PromQLError(RuntimeError):
    """Prometheus refused a query (it does not parse, or cannot be evaluated); the message has its reason."""


def _get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _answers(url: str) -> bool:
    try:
        _get(url, timeout=2)
        return True
    except (urllib.error.URLError, OSError):
        return False


class _HttpDaemon(LocalService):
    """A Go daemon from a Debian package listening on 127.0.0.1:`port`, ready when /-/ready answers."""

    part = ""
    workdir_prefix = ""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def _binary(self) -> Path:
        raise NotImplementedError

    def _arguments(self) -> list[str]:
        raise NotImplementedError

    def start(self):
        if self.process is not None:
            raise ServiceError(f"{self.part} is already running on {self.address}")
        binary = toolchain(self._binary)
        self.port = require_free_port(self.port, self.part) if self.port else free_port()
        self.workdir = service_workdir(self.workdir_prefix)
        try:
            self.process = ManagedProcess(
                f"{self.part} on {self.address}",
                [binary, *self._arguments()],
                self.workdir / "daemon.log",
            ).start()
            self.process.wait_ready(lambda: _answers(f"{self.url}/-/ready"), READY_TIMEOUT)
        except BaseException:
            self.stop()
            raise
        return self


class Pushgateway(_HttpDaemon):
    """The Prometheus Pushgateway, metrics held in memory for its lifetime."""

    part = "Prometheus Pushgateway"
    workdir_prefix = "wh-pushgateway-"

    def _binary(self) -> Path:
        return debs.pushgateway_binary()

    def _arguments(self) -> list[str]:
        # Debian's build persists to /var/lib/prometheus/pushgateway.data by default: every gateway started
        # here would begin with the last one's pushes (an earlier run's Flink counts in this run's figures).
        return [f"--web.listen-address={self.address}", "--persistence.file=", "--log.level=warn"]


class Prometheus(_HttpDaemon):
    """Prometheus scraping `targets` (scrape job -> host:port list) and evaluating `rule_files`.

    `pushed` (scrape job -> Pushgateway): their series keep the job and instance labels they were pushed with.
    """

    part = "Prometheus"
    workdir_prefix = "wh-prometheus-"

    def __init__(
        self,
        targets: dict[str, Sequence[str]],
        *,
        rule_files: Sequence[Path] = (),
        pushed: Mapping[str, Pushgateway] | None = None,
        port: int | None = None,
    ) -> None:
        super().__init__(port)
        self.targets, self.rule_files, self.pushed = dict(targets), list(rule_files), dict(pushed or {})

    def _binary(self) -> Path:
        return debs.prometheus_binary()

    def config(self) -> dict:
        return {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
            "rule_files": [str(Path(path).resolve()) for path in self.rule_files],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": list(addresses)}]}
                for job, addresses in self.targets.items()
            ]
            + [
                {
                    "job_name": job,
                    "honor_labels": True,
                    "static_configs": [{"targets": [gateway.address]}],
                }
                for job, gateway in self.pushed.items()
            ],
        }

    def _arguments(self) -> list[str]:
        assert self.workdir is not None
        config = self.workdir / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return [
            f"--config.file={config}",
            f"--web.listen-address={self.address}",
            f"--storage.tsdb.path={self.workdir / 'data'}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]

    def _api(self, path: str, params: dict[str, str]) -> object:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        try:
            answer = orjson.loads(_get(url))
        except urllib.error.HTTPError as exc:  # 400 bad_data, 422 execution error: the body says why
            answer = orjson.loads(exc.read() or b"{}")
        if answer.get("status") != "success":
            raise PromQLError(f"{params.get('query', path)}: {answer.get('error', 'no answer')}")
        return answer["data"]

    def query(self, promql: str) -> list[dict]:
        """An instant query: the result's samples ({"metric": labels, "value": [time, "text"]})."""
        data = self._api("query", {"query": promql})
        if data["resultType"] == "scalar":  # e.g. time(): one sample without labels
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def query_range(self, promql: str, start: float, end: float, step: float = 1.0) -> list[dict]:
        """A range query, as Grafana runs a panel's: series with their values at each step."""
        params = {"query": promql, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        return self._api("query_range", params)["result"]

    def value(self, promql: str) -> float | None:
        """The one number an instant query returns (None when it returns nothing)."""
        result = self.query(promql)
        if len(result) > 1:
            raise PromQLError(f"{promql}: {len(result)} series where one was expected")
        return float(result[0]["value"][1]) if result else None

    def wait_for_scrape(self, job: str, after: float, timeout: float = 30.0) -> None:
        """Return once every target of `job` has been scraped (successfully) since the Unix time `after`."""
        # timestamp() of a raw selector is the sample's (of `up == 1` it would be the evaluation time).
        up = f'up{{job="{job}"}}'
        promql = f"min(timestamp({up})) > {after:.3f} and on () min({up}) == 1"
        deadline = time.monotonic() + timeout
        while not self.query(promql):
            if time.monotonic() > deadline:
                raise ServiceError(f"Prometheus scraped no {job!r} target successfully within {timeout:.0f}s")
            time.sleep(0.2)
