-- Market-data job: market-data-raw -> market-data-processed (+ dead letters).
-- ${name} placeholders are filled by app/flink/market_data.py from the topic catalog and app/flink/jobs.yaml.
-- parse_tick, tick_event_time and is_dead_letter are JVM functions (app/flink/java); the indicators are a
-- JVM DataStream operator between the views `checked` and `processed`; the rest is SQL.
-- The INSERTs run as one statement set: one job, one source read, both sinks in the same checkpoints.

CREATE TEMPORARY TABLE raw_ticks (
  `value` BYTES,
  -- A record without a plausible event time gets epoch 0: it never moves the watermark (max - bound).
  event_time AS COALESCE(
    TO_TIMESTAMP_LTZ(tick_event_time(`value`, ${min_event_ms}, ${max_future_ms}), 3), TO_TIMESTAMP_LTZ(0, 3)),
  WATERMARK FOR event_time AS event_time - INTERVAL '${out_of_orderness}' SECOND
) WITH (
  'connector' = 'kafka',
  'topic' = '${raw_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.group.id' = '${consumer_group}',
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '60s',
  -- A reader takes one partition's fetched records at a time: this bounds how long the others wait.
  'properties.max.partition.fetch.bytes' = '${max_partition_fetch_bytes}',
  -- Split-level alignment: a partition ahead is paused (Flink's default refuses readers that can't pause).
  'scan.watermark.alignment.group' = '${alignment_group}',
  'scan.watermark.alignment.max-drift' = '${alignment_max_drift}',
  'scan.watermark.alignment.update-interval' = '${alignment_update_interval}',
  'value.format' = 'raw'
);

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

CREATE TEMPORARY TABLE dead_letters (
  `value` STRING,
  headers MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '${dead_letter_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  'properties.transaction.timeout.ms' = '${transaction_timeout_ms}',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}-dead-letter',
  'value.format' = 'raw'
);

-- parse_tick is declared non-deterministic (it reads the clock), so the planner calls it once per record.
CREATE TEMPORARY VIEW parsed AS
SELECT `value`, event_time,
  parse_tick(`value`, '${symbol_pattern}', ${max_bytes}, ${min_event_ms}, ${max_future_ms}, ${max_price}) AS tick
FROM raw_ticks;

CREATE TEMPORARY VIEW checked AS
SELECT
  `value`, event_time,
  tick.symbol AS symbol, tick.event_ms AS `timestamp`, tick.price AS price, tick.volume AS volume,
  tick.bid AS bid, tick.ask AS ask, tick.bid_size AS bid_size, tick.ask_size AS ask_size,
  tick.`sequence` AS `sequence`, tick.trade_id AS trade_id, tick.source AS source,
  CASE
    WHEN tick.reason IS NOT NULL THEN tick.reason
    -- Behind the watermark: the indicators of later ticks are already out, so it can't be placed.
    WHEN event_time <= CURRENT_WATERMARK(event_time) THEN 'late'
  END AS reason
FROM parsed;

-- `processed` (the ticks with their indicators in event-time order, replays dropped) and `rejected` (the
-- records of `checked` with a reason) are registered by com.waardhaven.flink.MarketDataStreams.

INSERT INTO processed_ticks SELECT symbol, `value` FROM processed;

-- The dead-letter envelope of app/schemas/deadletter.py, reason and source also as headers.
INSERT INTO dead_letters
SELECT
  JSON_OBJECT(
    'reason' VALUE reason,
    'source' VALUE '${dead_letter_source}',
    'topic' VALUE '${raw_topic}',
    'received_at' VALUE UNIX_TIMESTAMP() * 1000,
    'raw_bytes' VALUE CHAR_LENGTH(CAST(`value` AS STRING)),
    'raw_sha256' VALUE SHA256(CAST(`value` AS STRING)),
    'raw' VALUE SUBSTRING(CAST(`value` AS STRING) FROM 1 FOR ${raw_limit}),
    'raw_truncated' VALUE CHAR_LENGTH(CAST(`value` AS STRING)) > ${raw_limit}
  ),
  MAP['dlq.reason', CAST(reason AS BYTES), 'dlq.source', CAST('${dead_letter_source}' AS BYTES),
      'dlq.topic', CAST('${raw_topic}' AS BYTES)]
FROM rejected
-- Rejected and not skipped; is_dead_letter also counts it by reason (metric reason.dead_letters).
WHERE is_dead_letter(reason);
