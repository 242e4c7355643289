-- A job's dead-letter topic, written in the same checkpoints as its output (exactly-once). Each job's
-- script runs after this one and INSERTs the app.schemas.deadletter envelope with its reason headers.

CREATE TEMPORARY TABLE dead_letters (
  `value` STRING,
  headers MAP<STRING, BYTES> METADATA
) WITH (
  'connector' = 'kafka',
  'topic' = '${dead_letter_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  ${security_options}
  'properties.transaction.timeout.ms' = '${transaction_timeout_ms}',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}-dead-letter',
  'value.format' = 'raw'
);
