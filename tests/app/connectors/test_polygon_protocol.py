"""Polygon wire format without a broker: quotes and minute aggregates from documented frames, status
frames skipped, unknown events rejected with a reason, and a refused key stopping the source."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from app.connectors.config import Auth, SourceConfig
from app.connectors.http import VendorError
from app.connectors.polygon import PolygonOptions, PolygonSource
from app.connectors.producer import Rejected
from app.connectors.runtime import SourceContext
from tests.fakes.polygon import FakePolygon

NOW = int(time.time() * 1000)
CONFIG = SourceConfig(
    name="polygon",
    adapter="polygon",
    topic="market-data-raw",
    auth=Auth(env="POLYGON_API_KEY", query="apiKey"),
)


def source(options: PolygonOptions, secret: str = "k", session=None) -> PolygonSource:
    return PolygonSource(SourceContext(CONFIG, options, secret, None, session))


def test_quote_and_aggregate_frames_map_onto_the_schema():
    polygon = source(PolygonOptions(symbols=["MSFT"]))
    polygon.state = {}
    frame = (
        f'[{{"ev":"Q","sym":"MSFT","bx":4,"bp":414.12,"bs":1,"ax":7,"ap":414.15,"as":3,"c":0,"i":[604],'
        f'"t":{NOW},"q":50385480,"z":3}},'
        f'{{"ev":"AM","sym":"MSFT","v":4110,"av":9470157,"op":413.1,"vw":414.0,"o":413.9,"c":414.1,"h":414.3,'
        f'"l":413.8,"a":413.5,"z":685,"s":{NOW - 60_000},"e":{NOW}}},'
        f'{{"ev":"status","status":"success","message":"subscribed to: Q.MSFT"}},'
        f'{{"ev":"XX","sym":"MSFT"}}]'
    )
    batch = polygon._frame(frame)
    quote, agg, unknown = batch.records
    assert (quote.type, quote.bid, quote.ask, quote.bid_size, quote.ask_size, quote.sequence) == (
        "quote",
        414.12,
        414.15,
        1,
        3,
        50385480,
    )
    assert agg == {
        "type": "agg",
        "symbol": "MSFT",
        "timestamp": NOW - 60_000,
        "end_timestamp": NOW,
        "open": 413.9,
        "high": 414.3,
        "low": 413.8,
        "close": 414.1,
        "volume": 4110,
        "vwap": 414.0,
        "source": "polygon",
    }
    assert isinstance(unknown, Rejected) and "unknown Polygon event" in unknown.reason
    assert batch.cursor == {"Q.MSFT": [NOW, 50385480]}
    # the same quote again (a resume overlap) is dropped
    assert polygon._frame(frame).records[0] == agg


def test_refused_key_stops_the_source():
    async def attempt():
        fake = await FakePolygon(["AAPL"], per_symbol=1).start()
        try:
            async with aiohttp.ClientSession() as session:
                polygon = source(PolygonOptions(ws_url=fake.ws_url, symbols=["AAPL"]), "wrong", session)
                await anext(polygon.batches(None))
        finally:
            await fake.stop()

    with pytest.raises(VendorError, match="expected auth_success.*authentication failed"):
        asyncio.run(attempt())
