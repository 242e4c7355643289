-- Every consumed topic has its table (app/schemas/tables.py gives each row, app/sinks/loads.py the topic):
-- news and insider trades widened to what app/schemas allows (text up to 500 characters: ShortText) and
-- the insider table told when and by whom a trade was filed; economic indicators, social posts and company
-- metrics are new. Keys make a replay insert nothing: a series' observation is one per time and source, a
-- post one per platform and id, a metric one per company, time and source. Hypertables with TimescaleDB,
-- plain tables without (as 001 and 002).

ALTER TABLE news_sentiment_ts ALTER COLUMN source TYPE VARCHAR(500);

ALTER TABLE insider_trading_ts
    ALTER COLUMN filing_id TYPE VARCHAR(500),
    ALTER COLUMN insider_name TYPE VARCHAR(500),
    ALTER COLUMN insider_title TYPE VARCHAR(500),
    ADD COLUMN filed_at TIMESTAMPTZ,
    ADD COLUMN data_source VARCHAR(500);

CREATE TABLE economic_indicators_ts (
    time TIMESTAMPTZ NOT NULL,
    series_id VARCHAR(500) NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    unit VARCHAR(500),
    frequency VARCHAR(500),
    data_source VARCHAR(500) NOT NULL,

    PRIMARY KEY (time, series_id, data_source)
);
CREATE INDEX idx_economic_indicators_series_time ON economic_indicators_ts (series_id, time DESC);

CREATE TABLE social_posts_ts (
    time TIMESTAMPTZ NOT NULL,
    post_id VARCHAR(500) NOT NULL,
    platform VARCHAR(20) NOT NULL,
    community VARCHAR(500),
    author VARCHAR(500),
    title TEXT,
    body TEXT NOT NULL,
    url TEXT,
    score BIGINT,
    symbols VARCHAR(20)[] NOT NULL,
    data_source VARCHAR(500) NOT NULL,

    PRIMARY KEY (time, platform, post_id)
);
CREATE INDEX idx_social_posts_symbols ON social_posts_ts USING GIN (symbols);

CREATE TABLE company_metrics_ts (
    time TIMESTAMPTZ NOT NULL,
    symbol VARCHAR(20) NOT NULL,
    metric VARCHAR(64) NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    period VARCHAR(500),
    unit VARCHAR(500),
    data_source VARCHAR(500) NOT NULL,

    PRIMARY KEY (time, symbol, metric, data_source)
);
CREATE INDEX idx_company_metrics_symbol_metric_time ON company_metrics_ts (symbol, metric, time DESC);

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        PERFORM create_hypertable('economic_indicators_ts', 'time');
        PERFORM create_hypertable('social_posts_ts', 'time');
        PERFORM create_hypertable('company_metrics_ts', 'time');
    END IF;
END
$$;
