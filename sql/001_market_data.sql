-- Market ticks: a TimescaleDB hypertable where the extension is available, a plain table otherwise.
-- The TimescaleDB-only statements run through EXECUTE inside IF blocks so this file also applies to
-- stock PostgreSQL 15. Without the extension daily_market_summary is a plain view here; with it, a
-- continuous aggregate of the same columns (007_daily_market_summary.sql).

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION wh_has_timescaledb() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') $$;

CREATE TABLE market_data_ts (
    time TIMESTAMPTZ NOT NULL,
    symbol VARCHAR(20) NOT NULL,
    price DECIMAL(12,4) NOT NULL,
    volume BIGINT NOT NULL,
    bid DECIMAL(12,4),
    ask DECIMAL(12,4),
    bid_size INTEGER,
    ask_size INTEGER,

    -- technical indicators (filled by the enrichment job)
    sma_20 DECIMAL(12,4),
    sma_50 DECIMAL(12,4),
    rsi DECIMAL(5,2),
    bollinger_upper DECIMAL(12,4),
    bollinger_lower DECIMAL(12,4),

    processed_at TIMESTAMPTZ DEFAULT NOW(),
    data_source VARCHAR(50),

    PRIMARY KEY (time, symbol)
);

CREATE INDEX idx_market_data_symbol_time ON market_data_ts (symbol, time DESC);
CREATE INDEX idx_market_data_price ON market_data_ts (price) WHERE price IS NOT NULL;

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        PERFORM create_hypertable('market_data_ts', 'time', 'symbol', 4);
        EXECUTE $sql$ALTER TABLE market_data_ts SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'symbol',
            timescaledb.compress_orderby = 'time DESC')$sql$;
        PERFORM add_compression_policy('market_data_ts', INTERVAL '7 days');
        PERFORM add_retention_policy('market_data_ts', INTERVAL '2 years');
    ELSE
        CREATE VIEW daily_market_summary AS
        SELECT date_trunc('day', time) AS day, symbol,
               (array_agg(price ORDER BY time))[1] AS open_price, max(price) AS high_price,
               min(price) AS low_price, (array_agg(price ORDER BY time DESC))[1] AS close_price,
               sum(volume) AS total_volume, count(*) AS tick_count
        FROM market_data_ts
        GROUP BY 1, symbol;
    END IF;
END
$$;
