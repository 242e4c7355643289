"""A straightforward pandas/numpy reference of the market-data indicators, to check the job against.

Same conventions as app/flink/java/.../Indicators.java: NaN until a window is full; RSI seeded
with the mean of the first 14 gains/losses, then Wilder's (13 * avg + x) / 14; 50 when nothing moved.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def wilder_rsi(prices: np.ndarray, period: int = 14) -> np.ndarray:
    rsi = np.full(len(prices), np.nan)
    if len(prices) <= period:
        return rsi
    change = np.diff(prices)
    gains, losses = np.maximum(change, 0.0), np.maximum(-change, 0.0)
    avg_gain, avg_loss = gains[:period].mean(), losses[:period].mean()
    for i in range(period, len(prices)):
        if i > period:
            avg_gain = (avg_gain * (period - 1) + gains[i - 1]) / period
            avg_loss = (avg_loss * (period - 1) + losses[i - 1]) / period
        moved = avg_gain + avg_loss
        rsi[i] = 50.0 if moved == 0 else 100.0 * avg_gain / moved
    return rsi


def indicators(ticks: pd.DataFrame) -> pd.DataFrame:
    """ticks: symbol, timestamp, price (unique per symbol and timestamp). Returns them with indicators."""
    out = []
    for _, group in ticks.sort_values(["symbol", "timestamp"]).groupby("symbol", sort=False):
        price = group["price"]
        sma20 = price.rolling(20).mean()
        sigma = price.rolling(20).std(ddof=0)
        out.append(
            group.assign(
                sma_20=sma20,
                sma_50=price.rolling(50).mean(),
                rsi_14=wilder_rsi(price.to_numpy()),
                bollinger_upper=sma20 + 2 * sigma,
                bollinger_lower=sma20 - 2 * sigma,
            )
        )
    return pd.concat(out, ignore_index=True)
