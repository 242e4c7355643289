-- The market-data job's indicators at full precision: the Flink job computes SMA/RSI/Bollinger as
-- doubles, exact to 1e-9 against a reference; DECIMAL(12,4) and DECIMAL(5,2) would round them away.
-- TimescaleDB refuses a column type change while compression is on, so there it is switched off around
-- the change (chunks decompressed first) and restored as 001 set it.

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
    ALTER COLUMN sma_20 TYPE DOUBLE PRECISION,
    ALTER COLUMN sma_50 TYPE DOUBLE PRECISION,
    ALTER COLUMN rsi TYPE DOUBLE PRECISION,
    ALTER COLUMN bollinger_upper TYPE DOUBLE PRECISION,
    ALTER COLUMN bollinger_lower TYPE DOUBLE PRECISION;

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
