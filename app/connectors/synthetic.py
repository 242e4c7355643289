"""A synthetic market: real-looking symbols, prices by geometric Brownian motion, quotes around them.

Used by the local demo and the ingest benchmark. Deterministic for a seed; `rate` bounds events/s
(0 = as fast as the pipeline takes them), `total` ends the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from app.connectors.runtime import Batch, Source

TICKERS = (
    "AAPL MSFT NVDA AMZN GOOGL META BRK.B TSLA AVGO JPM LLY V UNH XOM MA JNJ PG HD COST MRK ABBV CVX "
    "CRM BAC NFLX KO PEP AMD WMT TMO ADBE LIN MCD CSCO ACN ABT ORCL DIS WFC INTC QCOM TXN IBM CAT GE "
    "AMGN INTU VZ PFE NOW UBER SPGI GS HON BA NKE LOW SBUX PLTR"
).split()
SECONDS_PER_YEAR = 252 * 6.5 * 3600


class SyntheticOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbols: int = Field(50, ge=1, le=100_000)
    rate: float = Field(1000, ge=0, description="events per second; 0 = unthrottled")
    batch_size: int = Field(2000, ge=1, le=100_000)
    total: int | None = Field(None, ge=1)
    volatility: float = Field(0.3, gt=0, lt=5, description="annualised")
    drift: float = Field(0.05, gt=-1, lt=1, description="annualised")
    spread_bps: float = Field(2.0, gt=0, lt=1000)
    seed: int = 7


def symbols(count: int) -> list[str]:
    return [*TICKERS[:count], *(f"SYN{i}" for i in range(count - len(TICKERS)))]


def _successive_steps(which: np.ndarray, log_growth: np.ndarray) -> tuple[np.ndarray, ...]:
    """For each draw: its rank among the batch's draws of the same symbol and that symbol's cumulative
    log growth up to and including it (both in batch order); and the index of each symbol's last draw."""
    order = np.argsort(which, kind="stable")
    grouped = which[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    group_start = np.repeat(starts, np.diff(np.r_[starts, len(which)]))
    cum = np.cumsum(log_growth[order])
    rank, path = np.empty(len(which), dtype=np.int64), np.empty(len(which))
    rank[order] = np.arange(len(which)) - group_start
    path[order] = cum - np.r_[0.0, cum][group_start]
    return rank, path, order[np.r_[starts[1:], len(which)] - 1]


class SyntheticSource(Source):
    Options = SyntheticOptions

    async def batches(self, cursor: dict | None) -> AsyncIterator[Batch]:
        o = self.options
        rng = np.random.default_rng(o.seed)
        names = symbols(o.symbols)
        prices = rng.uniform(20, 600, o.symbols)
        sent, started = 0, time.monotonic()
        dt = 1.0 / max(o.rate or 10_000, 1) * o.symbols / SECONDS_PER_YEAR  # model time per symbol step
        last_ms = np.zeros(o.symbols, dtype=np.int64)
        while o.total is None or sent < o.total:
            n = o.batch_size if o.total is None else min(o.batch_size, o.total - sent)
            which = rng.integers(0, o.symbols, n)
            shocks = rng.standard_normal(n)
            log_growth = (o.drift - o.volatility**2 / 2) * dt + o.volatility * np.sqrt(dt) * shocks
            # A symbol drawn k times in a batch takes k successive GBM steps, 1 ms apart and after its
            # previous tick: (time, symbol) stays unique, as the market_data_ts key requires.
            rank, path, last = _successive_steps(which, log_growth)
            px = prices[which] * np.exp(path)
            stamps = np.maximum(int(time.time() * 1000), last_ms[which] + 1) + rank
            np.maximum.at(last_ms, which, stamps)
            prices[which[last]] = px[last]
            half = px * o.spread_bps / 20_000
            bids, asks = np.round(px - half, 4), np.round(px + half, 4)
            volumes = rng.integers(1, 50, n) * 100
            sizes = rng.integers(1, 30, (2, n)) * 100
            records = [
                {
                    "type": "tick",
                    "symbol": names[s],
                    "timestamp": t,
                    "price": p,
                    "volume": v,
                    "bid": b,
                    "ask": a,
                    "bid_size": bs,
                    "ask_size": az,
                    "source": "synthetic",
                }
                for s, t, p, v, b, a, bs, az in zip(
                    which.tolist(),
                    stamps.tolist(),
                    np.round(px, 4).tolist(),
                    volumes.tolist(),
                    bids.tolist(),
                    asks.tolist(),
                    sizes[0].tolist(),
                    sizes[1].tolist(),
                    strict=True,
                )
            ]
            sent += n
            yield Batch(records)
            if o.rate:
                ahead = sent / o.rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            else:
                await asyncio.sleep(0)
