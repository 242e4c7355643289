-- The daily batch's summary per symbol and day (app/schemas/daily.py DAILY_ROW; app/batch writes it,
-- replacing a day in one transaction). A plain table with and without TimescaleDB: one row per symbol a day.

CREATE TABLE daily_aggregates (
    day DATE NOT NULL,
    symbol VARCHAR(20) NOT NULL,
    open_price DOUBLE PRECISION NOT NULL,
    high_price DOUBLE PRECISION NOT NULL,
    low_price DOUBLE PRECISION NOT NULL,
    close_price DOUBLE PRECISION NOT NULL,
    total_volume BIGINT NOT NULL,
    vwap DOUBLE PRECISION,
    tick_count BIGINT NOT NULL,
    day_return DOUBLE PRECISION NOT NULL,
    realized_volatility DOUBLE PRECISION,
    first_tick_at TIMESTAMPTZ NOT NULL,
    last_tick_at TIMESTAMPTZ NOT NULL,
    sma_20 DOUBLE PRECISION,
    sma_50 DOUBLE PRECISION,
    rsi DOUBLE PRECISION,
    bollinger_upper DOUBLE PRECISION,
    bollinger_lower DOUBLE PRECISION,

    PRIMARY KEY (day, symbol)
);

CREATE INDEX idx_daily_aggregates_symbol_day ON daily_aggregates (symbol, day DESC);
