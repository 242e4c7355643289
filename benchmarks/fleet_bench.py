"""Connector fleet benchmark: every configured REST, WebSocket and SSE source at once, in one process as
`wh connect A B C ...` runs them, against fakes of their vendors; CPU per 1,000 records against a bare
producer baseline measured in the same run, p95 vendor time -> broker acknowledgement, and how many
sources one 2-core pod can carry.

The fakes run in a process of their own (their CPU is not the fleet's). A source whose records carry a
publication time (news, posts, trades, quotes) gets a vendor that publishes `--page` new records between
two polls, each stamped with a time spread over the interval since the previous poll, in the shape of its
contract fixture (tests/fakes/vendors/). Streams get `--stream-rate` messages a second. The others (daily
series, filings, fundamentals) are served their fixture's answer, as a vendor with nothing new answers a
poll. Every schedule and rate limit is `--scale` times its configured one (a 5-minute poll every 5 s at
60); daily and monthly quotas are off. Topics stamp LogAppendTime, so the broker's append time (the
acknowledgement, on one broker with acks=all) is read back with each record.

    PYTHONPATH=. $VENV/bin/python benchmarks/fleet_bench.py [--seconds 60] [--scale 60] [--page 20]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import email.utils
import itertools
import multiprocessing
import os
import re
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import yaml
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from app.catalog import Catalog, catalog, duration_ms
from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.mapping import lookup
from app.connectors.producer import producer_config
from app.connectors.ratelimit import SLIDING_SECONDS, parse_rate
from app.connectors.runtime import Connector, RateLimiters
from app.local.kafka import KafkaBroker

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fakes" / "vendors"
STREAMING = ("websocket", "sse")
TIMED = {"iso_ms", "seconds_ms", "int", "rfc2822_ms", "strptime", None}  # times a vendor can stamp "now" in
POD_CORES, POD_UTILISATION, POD_MEMORY_MIB = 2.0, 0.7, 2048
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The field that dates a topic's records: vendor time -> broker ack is measured from it.
EVENT_FIELD = {"market-data-raw": "timestamp", "news-raw": "published_at", "social-raw": "created_at"}


# ---- the vendors (child process) ----


def _stamp(spec: dict, moment: datetime):
    kind = spec["as"]
    if kind == "iso_ms":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    if kind == "seconds_ms":
        return moment.timestamp()
    if kind == "rfc2822_ms":
        return email.utils.format_datetime(moment)
    if kind == "strptime":
        return moment.strftime(spec["format"])
    return int(moment.timestamp() * 1000)


def _set(doc, path, value) -> None:
    keys = path.split(".") if isinstance(path, str) else list(path)
    for key in keys[:-1]:
        doc = doc[int(key)] if isinstance(doc, list) else doc.setdefault(key, {})
    doc[keys[-1]] = value


class Publisher:
    """New records in a source's fixture shape: `fresh(n, since)` stamps n copies of its template records with
    times spread over (since, now] and ids no record had before."""

    def __init__(self, plan: dict) -> None:
        self.plan, self.serial = plan, itertools.count()

    def fresh(self, count: int, since: float) -> list:
        now = time.time()
        out = []
        for n, template in zip(range(count), itertools.cycle(self.plan["templates"]), strict=False):
            record = copy.deepcopy(template)
            moment = datetime.fromtimestamp(since + (now - since) * (n + 1) / count, UTC)
            _set(record, self.plan["time"]["path"], _stamp(self.plan["time"], moment))
            serial = next(self.serial)
            for path in self.plan["ids"]:
                current = lookup(record, path)
                if isinstance(current, int):
                    fresh = serial
                elif _UUID.fullmatch(str(current)):
                    fresh = str(uuid.uuid4())
                else:
                    fresh = f"{current}-{serial}"
                _set(record, path, fresh)
            out.append(record)
        return out


def _vendors(plans: list[dict], page: int, stream_rate: float, quiet, ready) -> None:
    """The child process: one loopback server per source; sends {source: base URL} through `ready`."""
    from aiohttp import web

    from tests.fakes.vendor import FixtureVendor

    async def main() -> None:
        bases = {}
        for plan in plans:
            if plan["mode"] == "static":
                vendor = FixtureVendor(plan["fixture"], None, phase="after")
                await vendor.server.start()
                bases[plan["name"]] = vendor.base
                continue
            app = web.Application()
            app.router.add_get("/{tail:.*}", _handler(plan, page, stream_rate, quiet))
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            bases[plan["name"]] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
        ready.send(bases)
        await asyncio.Event().wait()

    asyncio.run(main())


def _handler(plan: dict, page: int, stream_rate: float, quiet):
    from aiohttp import WSMsgType, web

    publisher, last = Publisher(plan), {}

    async def rest(request: web.Request) -> web.Response:
        key = request.path
        since, last[key] = last.get(key, time.time() - 1.0), time.time()
        later_page = plan["page_param"] and request.query.get(
            plan["page_param"], str(plan["page_start"])
        ) != str(plan["page_start"])
        records = [] if quiet.is_set() or later_page else publisher.fresh(page, since)
        body = copy.deepcopy(plan["body"])
        if plan["records"]:
            _set(body, plan["records"], records)
        else:
            body = records
        if plan["next_field"]:
            _set(body, plan["next_field"], None)
        return web.json_response(body)

    async def stream(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            send = ws.send_str
            listener = asyncio.create_task(_drain(ws, WSMsgType))
        else:
            ws = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await ws.prepare(request)
            send, listener = (lambda text: ws.write(f"data: {text}\n\n".encode())), None
        since = time.time()
        try:
            while True:
                await asyncio.sleep(1 / stream_rate)
                if quiet.is_set():
                    continue
                message = copy.deepcopy(plan["body"])
                [record] = publisher.fresh(1, since)
                since = time.time()
                if plan["records"] == "":
                    message = [record] if isinstance(message, list) else record
                else:
                    _set(message, plan["records"], [record] if plan["record_list"] else record)
                await send(orjson.dumps(message).decode())
        except (ConnectionResetError, RuntimeError):
            return ws
        finally:
            if listener:
                listener.cancel()

    return stream if plan["mode"] == "stream" else rest


async def _drain(ws, types) -> None:
    async for msg in ws:
        if msg.type != types.TEXT:
            break


# ---- the plans: what each source's vendor does ----


def _template_body(fixture: dict, records_path) -> tuple[object, list]:
    """The fixture's answer with the most records at the records path, and those records."""
    best = None
    for rule in fixture.get("after") or []:
        body = rule.get("body")
        items = lookup(body, records_path) if records_path else body
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            if best is None or len(items) > len(best[1]):
                best = (body, items)
    return best or (None, [])


def _any_value(fixture: dict) -> dict:
    """The fixture with its after-restart answers given to any request of the configured fan-out: no query
    to match, fan-out values in paths as wildcards, error answers left out (a quiet vendor, nothing new)."""
    values = {str(v) for vs in (fixture.get("options", {}).get("fan_out") or {}).values() for v in vs}
    rules = []
    for rule in fixture.get("after") or []:
        if rule.get("status", 200) == 200:
            path = rule["path"]
            for value in sorted(values, key=len, reverse=True):  # a value may span segments (ODA/POILBRE_USD)
                path = path.replace(f"/{value}/", "/*/")
            rules.append({k: v for k, v in rule.items() if k != "query"} | {"path": path})
    return {**fixture, "after": rules}


def plan(name: str, config, options) -> dict:
    fixture = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))
    base = {
        "name": name,
        "fixture": _any_value(fixture) if "stream" not in fixture else fixture,
        "mode": "static",
    }
    if config.adapter in STREAMING:
        message = next(m for m in fixture["stream"]["after"] if not isinstance(m, str))
        items = (
            message
            if isinstance(message, list)
            else lookup(message, options.records)
            if options.records
            else message
        )
        spec = options.mapping[EVENT_FIELD[config.topic]]
        return {
            **base,
            "mode": "stream",
            "body": message,
            "records": options.records,
            "record_list": isinstance(items, list),
            "templates": items if isinstance(items, list) else [items],
            "time": {"path": spec.source, "as": spec.transform, "format": spec.format},
            "ids": [],  # streams have no cursor to dedup by id (the SSE snapshot dedup is by time)
        }
    cursor = getattr(options, "cursor", None)
    if (
        config.adapter != "rest"
        or cursor is None
        or options.records_shape != "list"
        or options.format != "json"
    ):
        return base
    spec = options.mapping[cursor.field]
    if spec.source is None or spec.root or spec.transform not in TIMED:
        return base
    body, templates = _template_body(fixture, options.records)
    if not templates:
        return base
    symbol = options.mapping.get("symbol")
    ids = []
    for field in cursor.fields()[1:]:
        id_spec = options.mapping[field]
        paths = [id_spec.source] if id_spec.source is not None else list(id_spec.join or [])
        paths = [p for p in paths if not id_spec.root and not str(p).startswith("_")]
        paths = [p for p in paths if symbol is None or p != symbol.source]
        ids += paths[:1]
    paging = options.pagination
    return {
        **base,
        "mode": "publish",
        "body": body,
        "records": options.records,
        "templates": templates,
        "time": {"path": spec.source, "as": spec.transform, "format": spec.format},
        "ids": ids,
        "page_param": paging.param if paging.type == "page" else None,
        "page_start": paging.start,
        "next_field": paging.next_field if paging.type in ("token", "next_url") else None,
    }


# ---- the fleet (this process) ----


def _scaled(config, options, base_url: str, scale: float):
    scheme = "ws" if config.adapter == "websocket" else "http"
    update = {"url": base_url.replace("http", scheme, 1) + _path(options.url)}
    if getattr(options, "schedule", None):
        update["schedule"] = f"{max(100, int(duration_ms(options.schedule) / scale))}ms"
    rate = None
    if config.rate_limit:
        limit, period = parse_rate(config.rate_limit)
        if period in SLIDING_SECONDS:  # daily and monthly quotas are off
            rate = f"{int(limit * scale)}/{period}"
    return config.model_copy(update={"rate_limit": rate, "quota": None}), options.model_copy(update=update)


def _path(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process() -> tuple[float, int]:
    """This process's resident memory (MiB) and thread count."""
    with open(f"/proc/{os.getpid()}/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"])


def _topics(bootstrap: str, suffix: str) -> Catalog:
    """The catalog's topics under `suffix`, stamping the broker's append time on every record."""
    topics = catalog().with_suffix(suffix).scaled(1)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [
            NewTopic(
                t.name,
                t.partitions,
                1,
                config={**t.kafka_config(), "message.timestamp.type": "LogAppendTime"},
            )
            for t in topics
        ]
    )
    for future in futures.values():
        future.result(30)
    return topics


async def _run_fleet(connectors: list[Connector], seconds: float, warmup: float = 0.0) -> dict:
    """Run the connectors for `seconds`: the CPU seconds used after the first `warmup` seconds, and the
    process's largest resident memory (MiB) and thread count seen while they ran."""
    tasks = [asyncio.create_task(c.run()) for c in connectors]
    await asyncio.sleep(warmup)
    start, end = _cpu(), time.monotonic() + seconds - warmup
    peak = {"rss": 0.0, "threads": 0}
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(end - time.monotonic(), 0)))
        rss, threads = _process()
        peak = {"rss": max(peak["rss"], rss), "threads": max(peak["threads"], threads)}
    used = {"cpu": _cpu() - start, **peak}
    for connector in connectors:
        connector.stop()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    failed = [
        (c.config.name, o) for c, o in zip(connectors, outcomes, strict=True) if isinstance(o, BaseException)
    ]
    if failed:
        raise RuntimeError(f"connectors failed: {failed}")
    return used


def _read_back(bootstrap: str, topic: str) -> list[tuple[dict, int]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-{time.monotonic_ns()}"})
    try:
        parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p, 0) for p in parts]
        ends = sum(consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in tps)
        consumer.assign(tps)
        out = []
        while len(out) < ends:
            for message in consumer.consume(10_000, timeout=1):
                if message.error() is None:
                    out.append((orjson.loads(message.value()), message.timestamp()[1]))
        return out
    finally:
        consumer.close()


def _baseline(bootstrap: str, topic, values: list[bytes]) -> float:
    """CPU seconds of a bare producer sending `values` with the connectors' producer settings."""
    producer = Producer(producer_config(bootstrap, topic, "bench-baseline"))
    start = _cpu()
    for value in values:
        while True:
            try:
                producer.produce(topic.name, value)
                break
            except BufferError:
                producer.poll(0.01)
        producer.poll(0)
    producer.flush(60)
    return _cpu() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60, help="the loaded run (default 60)")
    parser.add_argument("--idle-seconds", type=float, default=30, help="the fleet at its real schedules (30)")
    parser.add_argument("--scale", type=float, default=60, help="schedules and rates x (default 60)")
    parser.add_argument(
        "--page", type=int, default=20, help="new records a publishing vendor has a poll (20)"
    )
    parser.add_argument("--stream-rate", type=float, default=50, help="messages a second per stream (50)")
    args = parser.parse_args(argv)

    sources = {n: s for n, s in load_sources().items() if s[0].adapter in ("rest", *STREAMING)}
    plans = {name: plan(name, *source) for name, source in sources.items()}
    for config, _ in sources.values():
        if config.auth:
            os.environ[config.auth.env] = "bench-credential"
    quiet = multiprocessing.Event()
    receive, send = multiprocessing.Pipe(duplex=False)
    vendor_args = (list(plans.values()), args.page, args.stream_rate, quiet, send)
    vendors = multiprocessing.Process(target=_vendors, args=vendor_args, daemon=True)
    vendors.start()
    bases = receive.recv()
    modes = {mode: sum(p["mode"] == mode for p in plans.values()) for mode in ("publish", "stream", "static")}
    print(
        f"{len(sources)} sources: {modes['publish']} publishing, {modes['stream']} streams,"
        f" {modes['static']} with nothing new; schedules and rates x{args.scale:g}, {args.page} records a"
        f" poll, {args.stream_rate:g} messages/s a stream; load average {os.getloadavg()[0]:.1f}"
    )
    work = Path(tempfile.mkdtemp(prefix="wh-fleet-bench-"))
    started_ms = int(time.time() * 1000)
    try:
        with KafkaBroker() as broker:
            bootstrap = broker.bootstrap_servers

            def fleet(suffix: str, scale: float) -> list[Connector]:
                topics, limiters = _topics(bootstrap, suffix), RateLimiters()
                return [
                    Connector(
                        *_scaled(*sources[name], bases[name], scale),
                        bootstrap,
                        CursorStore(work / suffix),
                        topics=topics,
                        topic_suffix=suffix,
                        limiters=limiters,
                    )
                    for name in sources
                ]

            rss0, threads0 = _process()
            loaded = fleet("-fleet", args.scale)
            wall = time.monotonic()
            run = asyncio.run(_run_fleet(loaded, args.seconds))
            cpu_loaded, wall_loaded = run["cpu"], time.monotonic() - wall
            rss_per_source = (run["rss"] - rss0) / len(loaded)
            threads_per_source = (run["threads"] - threads0) / len(loaded)
            records = sum(c.producer.delivered_total + c.producer.dead_lettered_total for c in loaded)

            quiet.set()  # nothing new anywhere: the fleet polls and waits at its real schedules
            idle = fleet("-idle", 1)
            warmup = min(10.0, args.idle_seconds / 3)  # every source's first poll is behind it
            cpu_idle = asyncio.run(_run_fleet(idle, args.idle_seconds, warmup))["cpu"] / (
                args.idle_seconds - warmup
            )

            latency: dict[tuple[str, str], list[float]] = {}
            values: list[bytes] = []
            for topic in sorted({config.topic for config, _ in sources.values()}):
                field = EVENT_FIELD.get(topic)
                for record, appended in _read_back(bootstrap, topic + "-fleet"):
                    values.append(orjson.dumps(record))
                    if field and isinstance(record.get(field), int) and record[field] >= started_ms:
                        key = (topic, str(record.get("source")))
                        latency.setdefault(key, []).append((appended - record[field]) / 1000)
            cpu_base = _baseline(bootstrap, catalog().with_suffix("-fleet")["market-data-raw-fleet"], values)
    finally:
        vendors.kill()
        vendors.join(10)

    per_k, base_per_k = cpu_loaded / records * 1000, cpu_base / len(values) * 1000
    header = f"{'topic':<18} {'source':<18} {'records':>8} {'p50 s':>7} {'p95 s':>7}"
    print(f"\n{header}  (vendor time -> broker ack)")
    for (topic, source), seconds in sorted(latency.items()):
        p50, p95 = np.percentile(seconds, 50), np.percentile(seconds, 95)
        print(f"{topic:<18} {source:<18} {len(seconds):>8,} {p50:>7.2f} {p95:>7.2f}")
    everything = [v for vs in latency.values() for v in vs]
    print(f"\n{'measure':<58} {'value':>14}")
    rows = [
        ("records delivered (dead letters included)", f"{records:,}"),
        ("loaded run: wall s / fleet CPU s", f"{wall_loaded:.1f} / {cpu_loaded:.1f}"),
        ("fleet CPU s per 1,000 records", f"{per_k:.3f}"),
        ("bare producer CPU s per 1,000 of the same records", f"{base_per_k:.3f}"),
        ("ratio fleet / bare producer", f"{per_k / base_per_k:.0f}x"),
        ("p95 vendor time -> broker ack, all timed records (s)", f"{np.percentile(everything, 95):.2f}"),
        ("the fleet at its real schedules, nothing new: CPU s/s", f"{cpu_idle:.3f}"),
        ("memory per source, peak (MiB RSS)", f"{rss_per_source:.1f}"),
        ("threads per source, peak", f"{threads_per_source:.1f}"),
    ]
    for label, value in rows:
        print(f"{label:<58} {value:>14}")
    # One source at its real rate: its share of the resting fleet, plus its share of the loaded run's work
    # above rest, which ran `scale` times the real rate.
    active = max(cpu_loaded / wall_loaded - cpu_idle, 0.0)
    per_source = (cpu_idle + active / args.scale) / len(sources)
    at_scale = cpu_loaded / wall_loaded / len(sources)
    by_cpu = int(POD_CORES * POD_UTILISATION / per_source)
    by_memory = int(POD_MEMORY_MIB / rss_per_source) if rss_per_source > 0 else by_cpu
    carried = min(by_cpu, by_memory)
    print(
        f"\none source at its real schedule: {per_source * 1000:.2f} ms CPU a second; one 2-core pod at"
        f" {POD_UTILISATION:.0%} CPU carries about {by_cpu:,} such sources, {by_memory:,} within"
        f" {POD_MEMORY_MIB} MiB: {carried:,} ({int(carried * threads_per_source):,} threads); at"
        f" x{args.scale:g} the real rates, {int(POD_CORES * POD_UTILISATION / at_scale):,} sources"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
