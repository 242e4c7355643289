-- News-sentiment job: news-raw -> news-sentiment-stream (+ dead letters). analyse_article is a Python UDF
-- (app/flink/news.py: VADER needs Python); news is a few articles a second, so Python is no bottleneck.
-- It also counts each article in Flink metrics, the ingest -> scored latency from the record's timestamp.
-- The INSERTs run as one statement set: one job, one source read, both sinks in the same checkpoints.
-- The dead_letters table is dead_letters.sql's.

CREATE TEMPORARY TABLE raw_articles (
  `value` BYTES,
  ingested_at TIMESTAMP_LTZ(3) METADATA FROM 'timestamp' VIRTUAL
) WITH (
  'connector' = 'kafka',
  'topic' = '${raw_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  ${security_options}
  'properties.group.id' = '${consumer_group}',
  'properties.isolation.level' = 'read_committed',
  'properties.auto.offset.reset' = 'earliest',
  'scan.startup.mode' = 'group-offsets',
  'scan.topic-partition-discovery.interval' = '60s',
  'value.format' = 'raw'
);

CREATE TEMPORARY TABLE scored_articles (
  article_id STRING,
  `value` STRING
) WITH (
  'connector' = 'kafka',
  'topic' = '${processed_topic}',
  'properties.bootstrap.servers' = '${bootstrap_servers}',
  ${security_options}
  'properties.transaction.timeout.ms' = '${transaction_timeout_ms}',
  'sink.delivery-guarantee' = 'exactly-once',
  'sink.transactional-id-prefix' = '${transactional_id_prefix}-processed',
  'key.format' = 'raw',
  'key.fields' = 'article_id',
  'value.format' = 'raw',
  'value.fields-include' = 'EXCEPT_KEY'
);

CREATE TEMPORARY VIEW analysed AS
SELECT r.a.article_id AS article_id, r.a.output AS output, r.a.reason AS reason, r.a.dead_letter AS dead_letter
FROM (SELECT analyse_article(`value`, ingested_at) AS a FROM raw_articles) AS r;

INSERT INTO scored_articles
SELECT article_id, output FROM analysed WHERE reason IS NULL;

INSERT INTO dead_letters
SELECT dead_letter,
  MAP['dlq.reason', CAST(reason AS BYTES), 'dlq.source', CAST('${dead_letter_source}' AS BYTES),
      'dlq.topic', CAST('${raw_topic}' AS BYTES)]
FROM analysed WHERE reason IS NOT NULL;
