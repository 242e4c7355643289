"""The local pipeline's monitoring: this process's /metrics, a Pushgateway for the Flink mini-cluster and a
Prometheus scraping both with the chart's rules and the local latency thresholds loaded, all on loopback,
stopped in reverse order on exit.

    with local_monitoring() as monitoring:
        run_pipeline(..., flink_overrides=monitoring.flink_reporter("market-data"))
        monitoring.prometheus.query(...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from app import metrics
from app.local.flink import FLINK_SCRAPE_JOB, pushgateway_reporter
from app.local.prometheus import Prometheus, Pushgateway
from app.monitoring.chart import RULES_FILE, thresholds_file
from infra.process import free_port, require_free_port

# The scrape job of this process's /metrics (the connector and the loaders run in it).
PIPELINE_SCRAPE_JOB = "wh-pipeline"
LOCAL = "local"  # the environment whose latency thresholds apply


@dataclass(frozen=True)
class LocalMonitoring:
    prometheus: Prometheus
    pushgateway: Pushgateway
    metrics_port: int

    def flink_reporter(self, job: str) -> dict[str, str]:
        """The Flink keys that push `job`'s metrics where this Prometheus scrapes them."""
        return pushgateway_reporter(self.pushgateway.url, job)


@contextmanager
def local_monitoring(
    metrics_port: int | None = None, say: Callable[[str], None] = lambda _: None
) -> Iterator[LocalMonitoring]:
    """`metrics_port`: where this process serves /metrics (default: a free port)."""
    port = require_free_port(metrics_port, "metrics") if metrics_port else free_port()
    with ExitStack() as stack:
        server, thread = metrics.serve(port)
        stack.callback(thread.join, 5)
        stack.callback(server.server_close)
        stack.callback(server.shutdown)
        say(f"metrics on http://127.0.0.1:{port}/metrics")
        gateway = stack.enter_context(Pushgateway())
        say(f"Prometheus Pushgateway on {gateway.address} (pid {gateway.pid})")
        prometheus = stack.enter_context(
            Prometheus(
                {PIPELINE_SCRAPE_JOB: [f"127.0.0.1:{port}"]},
                rule_files=[RULES_FILE, thresholds_file(LOCAL)],
                pushed={FLINK_SCRAPE_JOB: gateway},
            )
        )
        say(f"Prometheus on {prometheus.url} (pid {prometheus.pid}), rules from {RULES_FILE.name}")
        yield LocalMonitoring(prometheus, gateway, port)
