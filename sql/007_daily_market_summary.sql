-- daily_market_summary as a TimescaleDB continuous aggregate (without the extension 001 made it a plain view
-- of the same columns), refreshed hourly over the window from 3 days to 1 hour ago.
-- WITH NO DATA: TimescaleDB refuses the default, WITH DATA (materialize at once), inside a transaction
-- block or a function, and this file runs in one transaction (app/migrations.py). It creates no data to
-- materialize: market_data_ts is the hypertable 001 made, and the policy fills the aggregate from there.
-- After 003 and 004, so that their column changes never meet a continuous aggregate.

DO $$
BEGIN
    IF wh_has_timescaledb() THEN
        EXECUTE $sql$CREATE MATERIALIZED VIEW daily_market_summary
            WITH (timescaledb.continuous) AS
            SELECT time_bucket('1 day', time) AS day, symbol,
                   first(price, time) AS open_price, max(price) AS high_price,
                   min(price) AS low_price, last(price, time) AS close_price,
                   sum(volume) AS total_volume, count(*) AS tick_count
            FROM market_data_ts
            GROUP BY day, symbol
            WITH NO DATA$sql$;
        PERFORM add_continuous_aggregate_policy('daily_market_summary',
            start_offset => INTERVAL '3 days',
            end_offset => INTERVAL '1 hour',
            schedule_interval => INTERVAL '1 hour');
    END IF;
END
$$;
