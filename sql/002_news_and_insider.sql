-- News sentiment and insider filings: hypertables with TimescaleDB, plain tables without.

CREATE TABLE news_sentiment_ts (
    time TIMESTAMPTZ NOT NULL,
    article_id UUID NOT NULL,
    symbols VARCHAR(20)[] NOT NULL,
    sentiment_score DECIMAL(5,4),
    sentiment_category VARCHAR(10),
    news_category VARCHAR(20),
    source VARCHAR(100),

    PRIMARY KEY (time, article_id)
);

CREATE TABLE insider_trading_ts (
    time TIMESTAMPTZ NOT NULL,
    filing_id VARCHAR(50) NOT NULL,
    symbol VARCHAR(20) NOT NULL,
    insider_name VARCHAR(200),
    insider_title VARCHAR(100),
    transaction_type VARCHAR(20),
    shares BIGINT,
    price DECIMAL(10,4),
    total_value DECIMAL(15,2),

    PRIMARY KEY (time, filing_id)
);

CREATE INDEX idx_news_sentiment_symbols ON news_sentiment_ts USING GIN (symbols);
CREATE INDEX idx_insider_trading_symbol_time ON insider_trading_ts (symbol, time DESC);

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        PERFORM create_hypertable('news_sentiment_ts', 'time');
        -- space partitioning needs the partition column in every unique index: keep time-only here
        PERFORM create_hypertable('insider_trading_ts', 'time');
    END IF;
END
$$;
