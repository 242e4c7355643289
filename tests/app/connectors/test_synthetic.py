"""The synthetic market: per-symbol ticks strictly later than the previous one, prices a GBM path."""

from __future__ import annotations

import asyncio
from collections import defaultdict

from app.connectors.config import load_sources
from app.connectors.runtime import SourceContext
from app.connectors.synthetic import SyntheticSource


def _ticks(**options) -> list[dict]:
    config, _defaults = load_sources()["synthetic"]
    source = SyntheticSource(SourceContext(config, SyntheticSource.Options(**options), None, None))

    async def collect():
        return [record async for batch in source.batches(None) for record in batch.records]

    return asyncio.run(collect())


def test_each_symbols_ticks_have_unique_increasing_timestamps_across_batches():
    # 3 symbols, 500 draws a batch: every symbol is drawn many times in each millisecond-fast batch.
    ticks = _ticks(symbols=3, rate=0, batch_size=500, total=3000)
    by_symbol = defaultdict(list)
    for tick in ticks:
        by_symbol[tick["symbol"]].append(tick["timestamp"])

    assert len(ticks) == 3000
    assert len({(t["timestamp"], t["symbol"]) for t in ticks}) == 3000
    for stamps in by_symbol.values():
        assert all(later > earlier for earlier, later in zip(stamps, stamps[1:], strict=False))


def test_repeated_draws_of_a_symbol_in_a_batch_take_successive_price_steps():
    ticks = _ticks(symbols=1, rate=0, batch_size=200, total=200, volatility=2.0)
    prices = [t["price"] for t in ticks]

    assert len(set(prices)) > 150  # one price per step, not one per batch
    assert all(t["bid"] < t["price"] < t["ask"] for t in ticks)
