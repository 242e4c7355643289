-- Market-data job: market-data-raw -> market-data-processed (+ dead letters), its sinks.
-- ${name} placeholders are filled by app/flink/market_data.py from the topic catalog and app/flink/jobs.yaml.
-- The source, parsing and the indicators are JVM DataStream operators (app/flink/java/MarketDataStreams),
-- which register the views `processed` and `rejected`; is_dead_letter is a JVM function.
-- The INSERTs run as one statement set: one job, one source read, both sinks in the same checkpoints.
-- The dead_letters table is dead_letters.sql's.

-- The record's JSON is written by com.waardhaven.flink.ProcessedJson: the tick's fields (symbol, timestamp,
-- price, volume, bid, ask, bid_size, ask_size, sequence, trade_id, source), the indicators (sma_20, sma_50,
-- rsi_14, bollinger_upper, bollinger_lower), processed_at and pipeline_version; absent when NULL.
CREATE TEMPORARY TABLE processed_ticks (
  symbol STRING,
  `value` BYTES
) WITH (
  'connector' = 'kafka',
  'topic' = '${processed_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  ${security_options}
  'properties.transaction.timeout.ms' = '${transaction_timeout_ms}',
  -- Fewer, larger produce requests: 5 ms of linger cost the broker and the sender thread less CPU per tick.
  'properties.linger.ms' = '5',
  'properties.batch.size' = '262144',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}-processed',
  'key.format' = 'raw',
  'key.fields' = 'symbol',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
);

-- `processed`: symbol and JSON record of each tick with its indicators, in event-time order, replays dropped.
-- `rejected`: reason and raw bytes of each record that is no tick, or too late to place.

INSERT INTO processed_ticks SELECT symbol, `value` FROM processed;

-- The dead-letter envelope of app/schemas/deadletter.py, reason and source also as headers.
INSERT INTO dead_letters
SELECT
  -- Sized and hashed over the raw bytes (com.waardhaven.flink.DeadLetterEnvelope), not a decoded string.
  dead_letter_envelope(reason, '${dead_letter_source}', '${raw_topic}', `value`, ${raw_limit}),
  MAP['dlq.reason', CAST(reason AS BYTES), 'dlq.source', CAST('${dead_letter_source}' AS BYTES),
      'dlq.topic', CAST('${raw_topic}' AS BYTES)]
FROM rejected
-- Rejected and not skipped; is_dead_letter also counts it by reason (metric reason.dead_letters).
WHERE is_dead_letter(reason);
