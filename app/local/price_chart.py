"""A picture of one run: a symbol's price with SMA 20/50 and its Bollinger bands, RSI 14 below, from
market_data_ts (the rows the loader stored, indicators as the Flink job computed them)."""

from __future__ import annotations

from pathlib import Path

RSI_BOUNDS = (30, 70)  # the usual oversold / overbought lines


def busiest_symbol(conn) -> str | None:
    """The symbol with the most rows (the one whose indicator windows fill first); None when empty."""
    row = conn.execute(
        "SELECT symbol FROM market_data_ts GROUP BY symbol ORDER BY count(*) DESC, symbol LIMIT 1"
    ).fetchone()
    return row[0] if row else None


def draw(dsn: str, path: Path, symbol: str | None = None) -> tuple[Path, str]:
    """Write the chart of `symbol` (default: the busiest) as a PNG to `path`; returns (path, symbol)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt
    import psycopg

    with psycopg.connect(dsn) as conn:
        symbol = symbol or busiest_symbol(conn)
        if symbol is None:
            raise ValueError("market_data_ts is empty: nothing to draw")
        rows = conn.execute(
            "SELECT time, price, sma_20, sma_50, bollinger_upper, bollinger_lower, rsi FROM market_data_ts"
            " WHERE symbol = %s ORDER BY time, trade_key",
            (symbol,),
        ).fetchall()
    times = [row[0] for row in rows]
    price, sma20, sma50, upper, lower, rsi = (
        [None if v is None else float(v) for v in column] for column in list(zip(*rows, strict=True))[1:]
    )
    # By tick, not by clock: a feed's ticks come in bursts, which a time axis squeezes into vertical strokes.
    ticks = range(len(rows))
    figure, (top, bottom) = plt.subplots(
        2, 1, sharex=True, figsize=(11, 6.5), gridspec_kw={"height_ratios": [3, 1]}, layout="constrained"
    )
    bands = [(n, lo, hi) for n, lo, hi in zip(ticks, lower, upper, strict=True) if lo is not None]
    if bands:
        band_ticks, band_lower, band_upper = zip(*bands, strict=True)
        top.fill_between(
            band_ticks, band_lower, band_upper, color="tab:blue", alpha=0.15, label="Bollinger (20, 2σ)"
        )
    top.plot(ticks, price, color="black", linewidth=1.0, label="price")
    top.plot(ticks, sma20, color="tab:orange", linewidth=1.4, label="SMA 20")
    top.plot(ticks, sma50, color="tab:purple", linewidth=1.4, label="SMA 50")
    top.ticklabel_format(axis="y", useOffset=False)
    top.set_ylabel("price")
    span = f"{times[0]:%Y-%m-%d %H:%M:%S} to {times[-1]:%H:%M:%S} UTC"
    top.set_title(f"{symbol}: {len(rows)} ticks from market_data_ts, {span}")
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.plot(ticks, rsi, color="tab:green", linewidth=1.1, label="RSI 14")
    for bound in RSI_BOUNDS:
        bottom.axhline(bound, color="grey", linestyle="--", linewidth=0.8)
    bottom.set_ylim(0, 100)
    bottom.set_ylabel("RSI 14")
    bottom.set_xlabel("tick, in event-time order")
    bottom.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path, symbol
