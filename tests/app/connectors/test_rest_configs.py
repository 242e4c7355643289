"""Every long-tail vendor in sources.yaml, as configured, against its documented response shape: one poll
through the generic REST adapter yields records that pass the topic's schema, and the request carries
what the vendor needs (credential, fan-out, cursor parameter)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlsplit

import aiohttp
import pytest

from app.catalog import catalog
from app.connectors.config import credential, load_sources
from app.connectors.producer import Rejected
from app.connectors.ratelimit import RateLimiter
from app.connectors.runtime import SourceContext
from app.schemas import BadRecord, validate
from tests.fakes.canned import CannedVendor

NOW_S = int(time.time()) - 3600
AV_META = {
    "1. Information": "Intraday (5min)",
    "2. Symbol": "IBM",
    "3. Last Refreshed": "2026-11-24 16:00:00",
}
AV_BAR = {
    "1. open": "231.1000",
    "2. high": "231.5000",
    "3. low": "230.9000",
    "4. close": "231.2000",
    "5. volume": "41234",
}
HSW = {
    "disclosure_year": 2026,
    "disclosure_date": "11/20/2026",
    "transaction_date": "2026-11-02",
    "owner": "joint",
    "ticker": "BP",
    "asset_description": "BP plc",
    "type": "purchase",
    "amount": "$1,001 - $15,000",
    "representative": "Hon. Jane Doe",
    "district": "NC05",
    "ptr_link": "https://disclosures.example/1.pdf",
    "cap_gains_over_200_usd": False,
}
SAMPLES = {
    "congress_trades": (
        {
            "/data/all_transactions.json": [
                HSW,
                {**HSW, "type": "sale_partial", "amount": "$15,001 - $50,000"},
                {**HSW, "ticker": "--", "asset_description": "Municipal bond"},
            ]
        },
        2,  # the bond has no ticker: dead-lettered
    ),
    "alpha_vantage_intraday": (
        {
            "/query": {
                "Meta Data": AV_META,
                "Time Series (5min)": {"2026-11-24 16:00:00": AV_BAR, "2026-11-24 15:55:00": AV_BAR},
            }
        },
        2,  # the canned body names IBM for every fanned-out symbol: its two bars, once
    ),
    "iex_quotes": (
        {
            "/stable/stock/market/batch": {
                "AAPL": {
                    "quote": {
                        "symbol": "AAPL",
                        "latestPrice": 190.1,
                        "latestVolume": 1000,
                        "latestUpdate": NOW_S * 1000,
                        "iexBidPrice": 190.0,
                        "iexAskPrice": 190.2,
                        "iexBidSize": 100,
                        "iexAskSize": 200,
                    }
                }
            }
        },
        1,
    ),
    "fred": (
        {
            "/fred/series/observations": {
                "realtime_start": "2026-11-25",
                "count": 2,
                "observations": [
                    {
                        "realtime_start": "2026-11-25",
                        "realtime_end": "2026-11-25",
                        "date": "2026-07-01",
                        "value": "4.1",
                    },
                    {
                        "realtime_start": "2026-11-25",
                        "realtime_end": "2026-11-25",
                        "date": "2026-08-01",
                        "value": ".",
                    },
                ],
            }
        },
        6,  # one good observation per series; "." goes to the dead letter
    ),
    "treasury_avg_interest_rates": (
        {
            "/services/api/fiscal_service/v2/accounting/od/avg_interest_rates": {
                "data": [
                    {
                        "record_date": "2026-10-31",
                        "security_type_desc": "Marketable",
                        "security_desc": "Treasury Bills",
                        "avg_interest_rate_amt": "4.312",
                    }
                ],
                "meta": {"count": 1},
                "links": {"next": None},
            }
        },
        1,
    ),
    "marketaux": (
        {
            "/v1/news/all": {
                "meta": {"found": 1, "returned": 1, "limit": 3, "page": 1},
                "data": [
                    {
                        "uuid": "9a1b2c3d-0000-4000-8000-00000000000a",
                        "title": "Chipmakers rally",
                        "description": "d",
                        "url": "https://x.example/a",
                        "source": "x.example",
                        "published_at": "2026-11-24T15:04:05.000000Z",
                        "entities": [{"symbol": "NVDA", "sentiment_score": 0.5}, {"symbol": "AMD"}],
                    }
                ],
            }
        },
        1,
    ),
    "finnhub_company_news": (
        {
            "/api/v1/company-news": [
                {
                    "category": "company",
                    "datetime": NOW_S,
                    "headline": "Apple ships",
                    "id": 7001,
                    "image": "",
                    "related": "AAPL",
                    "source": "Yahoo",
                    "summary": "s",
                    "url": "https://y.example/1",
                }
            ]
        },
        1,  # the same article for all five symbols is delivered once
    ),
    "reddit": (
        {
            f"/r/{sub}/new": {
                "kind": "Listing",
                "data": {
                    "after": None,
                    "children": [
                        {
                            "kind": "t3",
                            "data": {
                                "name": f"t3_{sub}1",
                                "subreddit": sub,
                                "author": "u1",
                                "title": "Is $MSFT cheap?",
                                "selftext": "thoughts",
                                "permalink": f"/r/{sub}/comments/1/",
                                "created_utc": float(NOW_S),
                                "score": 12,
                            },
                        }
                    ],
                },
            }
            for sub in ("investing", "stocks", "SecurityAnalysis")
        },
        3,
    ),
    "stocktwits_cashtags": (
        {
            f"/api/2/streams/symbol/{s}.json": {
                "symbol": {"symbol": s},
                "cursor": {"more": False},
                "messages": [
                    {
                        "id": 500 + i,
                        "body": f"${s} to the moon",
                        "created_at": "2026-11-24T15:04:05Z",
                        "user": {"username": "trader"},
                        "symbols": [{"symbol": s}],
                    }
                ],
            }
            for i, s in enumerate(["AAPL", "TSLA", "NVDA", "SPY"])
        },
        4,
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_vendor_config_maps_documented_payload_onto_schema(name, monkeypatch):
    bodies, expected = SAMPLES[name]
    config, options = load_sources()[name]
    if config.auth:
        monkeypatch.setenv(config.auth.env, "test-credential")
    schema = catalog()[config.topic].schema_name

    async def one_poll():
        async with CannedVendor(bodies) as vendor, aiohttp.ClientSession() as session:
            parts = urlsplit(options.url)
            local = options.model_copy(update={"url": vendor.server.url + parts.path})
            ctx = SourceContext(config, local, credential(config.auth, name), RateLimiter(1000, 1), session)
            source = config.source_class()(ctx)
            batch = await anext(source.batches(None))
            return batch, vendor.requests

    batch, requests = asyncio.run(one_poll())
    good, problems = [], []
    for record in batch.records:  # what the sink would produce, and what it would dead-letter
        if isinstance(record, Rejected):
            problems.append(record.reason)
            continue
        try:
            good.append(validate(schema, record))
        except BadRecord as exc:
            problems.append(str(exc))
    assert len(good) == expected, problems
    assert batch.cursor and batch.cursor["ts"] > 0
    if config.auth:
        sent = (
            requests[0].query.get(config.auth.query)
            if config.auth.query
            else requests[0].headers[config.auth.header]
        )
        assert sent == config.auth.prefix + "test-credential"
    assert len(requests) >= max((len(v) for v in options.fan_out.values()), default=1)
