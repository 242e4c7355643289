-- One row per trade: (time, symbol) merged distinct trades of one millisecond. The key adds trade_key, the
-- identity the market-data job dedups on (app/schemas/processed.py trade_key: "id:<trade id>",
-- "seq:<sequence>" or "pv:<price>/<volume>"). A row written without one (before this migration, or by
-- hand) has '': the old key made those unique. The sizes follow app/schemas: bid/ask sizes up to 10^15
-- (Size), a source of up to 500 characters (ShortText).
-- As in 003: TimescaleDB refuses these changes while compression is on, so it is switched off around them.

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        PERFORM remove_compression_policy('market_data_ts', if_exists => true);
        PERFORM decompress_chunk(chunk, if_compressed => true) FROM show_chunks('market_data_ts') AS chunk;
        EXECUTE 'ALTER TABLE market_data_ts SET (timescaledb.compress = false)';
    END IF;
END
$$;

ALTER TABLE market_data_ts
    ALTER COLUMN bid_size TYPE BIGINT,
    ALTER COLUMN ask_size TYPE BIGINT,
    ALTER COLUMN data_source TYPE VARCHAR(500),
    ADD COLUMN trade_key TEXT NOT NULL DEFAULT '';
ALTER TABLE market_data_ts DROP CONSTRAINT market_data_ts_pkey;
ALTER TABLE market_data_ts ADD PRIMARY KEY (time, symbol, trade_key);

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        EXECUTE $sql$ALTER TABLE market_data_ts SET (
            timescaledb.compress,
            timescaledb.compress_segmentby = 'symbol',
            timescaledb.compress_orderby = 'time DESC')$sql$;
        PERFORM add_compression_policy('market_data_ts', INTERVAL '7 days');
    END IF;
END
$$;
