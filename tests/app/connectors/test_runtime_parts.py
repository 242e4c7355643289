"""Runtime parts without a broker: quotas, backoff and Retry-After, cursors, mapping, HTTP error handling,
and sources.yaml load errors that name the file, key and allowed values."""

from __future__ import annotations

import asyncio
import time
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web

from app.connectors.config import load_sources
from app.connectors.cursor import CursorStore
from app.connectors.http import HttpClient, VendorError, VendorUnavailable
from app.connectors.mapping import MappingError, apply, parse_mapping
from app.connectors.ratelimit import RateLimiter, parse_rate
from app.connectors.retry import Backoff, parse_retry_after
from app.yamlconfig import ConfigError
from tests.fakes.server import LoopbackServer


def test_rates_parse_and_sliding_window_holds_the_quota():
    assert parse_rate("5/minute") == (5, "minute") and parse_rate("10000/month") == (10000, "month")
    for bad in ("5 per minute", "1000/week", "0/day"):
        with pytest.raises(ValueError, match="'5/minute' with a period in second, minute, hour, day, month"):
            parse_rate(bad)
    now = [0.0]
    limiter = RateLimiter(5, 60, clock=lambda: now[0])
    for _ in range(5):
        assert limiter.delay() == 0
        limiter._sent.append(now[0])
        now[0] += 1
    assert limiter.delay() == pytest.approx(55.0)  # the 6th waits until the first leaves the window
    now[0] = 60.0
    assert limiter.delay() == 0


def test_limiter_spaces_real_acquisitions():
    async def burst():
        limiter = RateLimiter(3, 0.5)
        start = time.monotonic()
        for _ in range(6):
            await limiter.acquire()
        return time.monotonic() - start

    assert 0.45 <= asyncio.run(burst()) < 2.0


def test_backoff_grows_with_jitter_and_retry_after_wins():
    backoff = Backoff(base=1.0, cap=8.0)
    assert all(0 <= backoff.delay(1) <= 1.0 for _ in range(50))
    assert all(0 <= backoff.delay(10) <= 8.0 for _ in range(50))
    assert max(backoff.delay(4) for _ in range(200)) > 4.0  # it grows
    assert 7.0 <= backoff.delay(1, retry_after=7.0) <= 8.0
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after(formatdate(1_000_030, usegmt=True), now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_cursor_store_round_trips_atomically_and_names_a_corrupt_file(tmp_path):
    store = CursorStore(tmp_path)
    assert store.load("polygon") is None
    store.save("polygon", {"T.AAPL": [1, 2]})
    assert store.load("polygon") == {"T.AAPL": [1, 2]}
    assert [p.name for p in tmp_path.iterdir()] == ["polygon.cursor.json"]
    (tmp_path / "polygon.cursor.json").write_text("{half")
    with pytest.raises(ValueError, match="polygon.cursor.json: corrupt cursor"):
        store.load("polygon")


def test_mapping_paths_transforms_and_errors():
    mapping = parse_mapping(
        {
            "symbol": {"from": ["Meta Data", "2. Symbol"], "root": True, "as": "upper"},
            "price": {"from": "p", "as": "float"},
            "volume": {"from": "v", "as": "int"},
            "timestamp": {"from": "t", "as": "iso_ms"},
            "symbols_mentioned": "entities.*.symbol",
            "series_id": {"param": "series_id"},
            "source": {"value": "x"},
        }
    )
    body = {"Meta Data": {"2. Symbol": "ibm"}}
    record = {"p": "1.5", "v": "1,200", "t": "2026-01-02T03:04:05Z", "entities": [{"symbol": "A"}, {"x": 1}]}
    assert apply(mapping, record, body, {"series_id": "GDP"}) == {
        "symbol": "IBM",
        "price": 1.5,
        "volume": 1200,
        "timestamp": 1767323045000,
        "symbols_mentioned": ["A"],
        "series_id": "GDP",
        "source": "x",
    }
    with pytest.raises(MappingError, match=r"volume: '1.5' is not an integer"):
        apply(mapping, {**record, "v": "1.5"}, body)
    with pytest.raises(MappingError, match="timestamp: 'noon' is not an ISO-8601 time"):
        apply(mapping, {**record, "t": "noon"}, body)
    assert "price" not in apply(mapping, {k: v for k, v in record.items() if k != "p"}, body)
    with pytest.raises(ValueError, match="unknown transform 'floaty'"):
        parse_mapping({"price": {"from": "p", "as": "floaty"}})


@pytest.mark.parametrize(
    ("entry", "key", "fragment"),
    [
        ("adapter: ftp\n    topic: news-raw", "sources.s.adapter", "allowed: synthetic"),
        ("adapter: rest\n    topic: news", "sources.s.topic", "allowed: market-data-raw"),
        (
            "adapter: synthetic\n    topic: market-data-raw\n    rate_limit: lots",
            "sources.s.rate_limit",
            "5/minute",
        ),
        (
            "adapter: rest\n    topic: news-raw\n    rate_limit: 1000/week",
            "sources.s.rate_limit",
            "period in second, minute, hour, day, month",
        ),
        (
            "adapter: rest\n    topic: news-raw\n    rate_limit: 1000/day\n    quota: {tz: Mars/Base}",
            "sources.s.quota.tz",
            "unknown time zone 'Mars/Base'",
        ),
        (
            "adapter: rest\n    topic: news-raw\n    rate_limit: 1000/day\n    quota: {max_wait: soon}",
            "sources.s.quota.max_wait",
            "positive duration like 7d",
        ),
        (
            "adapter: rest\n    topic: news-raw\n    rate_limit: 5/minute\n    quota: {tz: UTC}",
            "sources.s.quota",
            "apply to a rate_limit per day or month",
        ),
        (
            "adapter: rest\n    topic: news-raw\n    rate_limit: 1000/day\n    quota: {window: week}",
            "sources.s.quota.window",
            "Extra inputs are not permitted",
        ),
        (
            "adapter: synthetic\n    topic: market-data-raw\n    options: {rate: -1}",
            "sources.s.options.rate",
            "greater than or equal to 0",
        ),
        (
            "adapter: synthetic\n    topic: market-data-raw\n    auth: {env: lower}",
            "sources.s.auth.env",
            "should match pattern",
        ),
        (
            "adapter: synthetic\n    topic: market-data-raw\n    auth: {env: K, query: k, refused: 'a (b'}",
            "sources.s.auth.refused",
            "not a regular expression: missing ), unterminated subpattern",
        ),
    ],
)
def test_bad_sources_file_names_file_key_and_allowed(tmp_path, entry, key, fragment):
    path = tmp_path / "sources.yaml"
    path.write_text(f"sources:\n  s:\n    {entry}\n")
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert (info.value.path, info.value.key) == (str(path), key)
    assert fragment in str(info.value)


class _Vendor:
    """Answers a scripted sequence of (status, body, headers)."""

    def __init__(self, script):
        self.script, self.calls = list(script), []
        app = web.Application()
        app.router.add_get("/q", self._answer)
        self.server = LoopbackServer(app)

    async def _answer(self, request):
        self.calls.append(time.monotonic())
        status, body, headers = self.script.pop(0) if self.script else (200, '{"ok": true}', {})
        return web.Response(status=status, text=body, headers=headers, content_type="application/json")


def _http_run(script, throttled=None, attempts=4):
    async def go():
        vendor = _Vendor(script)
        await vendor.server.start()
        try:
            async with aiohttp.ClientSession() as session:
                client = HttpClient(
                    "v",
                    session,
                    backoff=Backoff(base=0.01, cap=0.05, max_attempts=attempts),
                    auth_params={"apikey": "sekret-123"},
                )
                return await client.get_json(f"{vendor.server.url}/q", throttled=throttled), vendor.calls
        finally:
            await vendor.server.stop()

    return asyncio.run(go())


def test_http_honours_retry_after_then_succeeds():
    body, calls = _http_run([(429, '{"error": "slow down"}', {"Retry-After": "1"}), (503, "", {})])
    assert body == {"ok": True} and len(calls) == 3
    assert calls[1] - calls[0] >= 1.0  # waited as told


def test_http_treats_alpha_vantage_note_as_over_quota(monkeypatch):
    monkeypatch.setattr("app.connectors.http.THROTTLED_BODY_WAIT", 0.2)
    note = (
        '{"Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per minute"}'
    )
    body, calls = _http_run([(200, note, {})], throttled=lambda b: b.get("Note"))
    assert body == {"ok": True} and calls[1] - calls[0] >= 0.2


def test_http_4xx_is_a_vendor_error_and_never_shows_the_key():
    with pytest.raises(VendorError) as info:
        _http_run([(401, '{"status": "error", "message": "Your API key is invalid"}', {})])
    assert "HTTP 401" in str(info.value) and "Your API key is invalid" in str(info.value)
    assert "sekret-123" not in str(info.value)
    with pytest.raises(VendorUnavailable, match="failed 2 times") as info:
        _http_run([(500, "", {}), (502, "", {})], attempts=2)
    assert "sekret-123" not in str(info.value)


def test_mapping_join_map_and_us_dates():
    mapping = parse_mapping(
        {
            "filing_id": {"join": ["link", "ticker"], "as": "uuid5"},
            "transaction_type": {"from": "type", "map": {"purchase": "buy", "sale_full": "sell"}},
            "filed_at": {"from": "disclosed", "as": "us_date_ms"},
        }
    )
    a = apply(mapping, {"link": "l", "ticker": "BP", "type": "sale_full", "disclosed": "11/20/2026"}, None)
    b = apply(mapping, {"link": "l", "ticker": "BP", "type": "exchange", "disclosed": "11/20/2026"}, None)
    assert a["filing_id"] == b["filing_id"] and len(a["filing_id"]) == 36  # stable id from the joined fields
    assert (a["transaction_type"], b["transaction_type"]) == ("sell", "other")
    assert a["filed_at"] == 1795132800000  # 2026-11-20T00:00Z
    with pytest.raises(MappingError, match="filed_at: '2026-11-20' is not a MM/DD/YYYY date"):
        apply(mapping, {"link": "l", "ticker": "BP", "disclosed": "2026-11-20"}, None)


@pytest.mark.parametrize(
    ("spec", "value", "fragment"),
    [
        ({"from": "v", "as": "seconds_ms"}, "soon", "could not convert"),  # a ValueError of float()
        ({"from": "v", "as": "list"}, 7, "not iterable"),  # a TypeError
        ({"from": "v", "as": "seconds_ms"}, "1e400", "infinity"),  # an OverflowError
        ({"from": "v", "as": "date_ms"}, "2026-02-30", "YYYY-MM-DD"),
    ],
)
def test_every_transform_failure_is_a_mapping_error_naming_the_field(spec, value, fragment):
    with pytest.raises(MappingError, match=f"^x: .*{fragment}"):
        apply(parse_mapping({"x": spec}), {"v": value}, None)


def test_a_join_over_a_missing_field_is_rejected_not_an_id_of_nothing():
    mapping = parse_mapping({"filing_id": {"join": ["link", "ticker"], "as": "uuid5"}})
    for record in ({"link": "l"}, {"link": "l", "ticker": None}):
        with pytest.raises(MappingError, match="filing_id: joined field.* ticker missing"):
            apply(mapping, record, None)


@pytest.mark.parametrize(
    ("spec", "key", "fragment"),
    [
        ("{from: t, as: iso_ms, tz: Mars/Base}", "published_at.tz", "unknown time zone 'Mars/Base'"),
        ("{from: t, as: floaty}", "published_at.as", "unknown transform 'floaty'"),
    ],
)
def test_bad_mapping_fails_at_load_naming_source_and_key(tmp_path, spec, key, fragment):
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  news:\n    adapter: rest\n    topic: news-raw\n    options:\n"
        f"      url: http://127.0.0.1:1/x\n      mapping:\n        published_at: {spec}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_sources(path)
    assert info.value.key == f"sources.news.options.mapping.{key}" and fragment in str(info.value)
