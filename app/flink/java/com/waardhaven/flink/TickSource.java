package com.waardhaven.flink;

import java.time.Duration;
import java.util.Map;

import org.apache.flink.api.common.eventtime.SerializableTimestampAssigner;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.KafkaSourceBuilder;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.data.RowData;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * The market-data job's source: the raw topic read with Kafka's consumer, each record parsed once by
 * {@link TickParser}, event time and watermarks taken from the parsed row.
 *
 * <p>The options are the keys of {@link #KEYS}, all strings, filled by app/flink/market_data.py from the
 * topic catalog, app.schemas and app/flink/jobs.yaml (validated there); each {@code kafka.<property>} option
 * is set on the consumer (its security settings, from app/kafka_client.py).
 */
final class TickSource {
    static final String[] KEYS = {
        "bootstrap_servers", "topic", "group_id", "max_partition_fetch_bytes", "partition_discovery_ms",
        "out_of_orderness_ms", "idle_timeout_ms", "alignment_group", "alignment_max_drift_ms",
        "alignment_update_interval_ms", "symbol_pattern", "iso_instant_pattern", "other_types", "max_bytes",
        "max_depth", "min_event_ms", "max_future_ms", "max_price", "max_size", "max_trade_id_length",
        "max_source_length",
    };

    static final String CLIENT_PREFIX = "kafka.";

    private final Map<String, String> options;

    TickSource(Map<String, String> options) {
        for (String key : KEYS) {
            if (!options.containsKey(key)) {
                throw new IllegalArgumentException("market-data source option '" + key + "' is missing");
            }
        }
        this.options = options;
    }

    DataStream<RowData> read(StreamExecutionEnvironment env, String uid) {
        KafkaSourceBuilder<RowData> builder = KafkaSource.<RowData>builder();
        options.forEach((key, value) -> {
            if (key.startsWith(CLIENT_PREFIX)) {
                builder.setProperty(key.substring(CLIENT_PREFIX.length()), value);
            }
        });
        KafkaSource<RowData> source = builder
                .setBootstrapServers(options.get("bootstrap_servers"))
                .setTopics(options.get("topic"))
                .setGroupId(options.get("group_id"))
                // Resume from the group's offsets (committed on each checkpoint), the topic's start if none.
                .setStartingOffsets(OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST))
                .setProperty("isolation.level", "read_committed")
                .setProperty("partition.discovery.interval.ms", options.get("partition_discovery_ms"))
                // A reader takes one partition's fetched records at a time: this bounds how long the others wait.
                .setProperty("max.partition.fetch.bytes", options.get("max_partition_fetch_bytes"))
                .setDeserializer(new TickParser(rules()))
                .build();
        WatermarkStrategy<RowData> watermarks = WatermarkStrategy
                .<RowData>forBoundedOutOfOrderness(millis("out_of_orderness_ms"))
                .withTimestampAssigner(new EventTime())
                .withIdleness(millis("idle_timeout_ms"))
                // Split-level alignment: a partition that gets ahead of the slowest is paused.
                .withWatermarkAlignment(options.get("alignment_group"), millis("alignment_max_drift_ms"),
                        millis("alignment_update_interval_ms"));
        return env.fromSource(source, watermarks, "parse " + options.get("topic")).uid(uid);
    }

    private TickParser.Rules rules() {
        TickParser.Rules rules = new TickParser.Rules();
        rules.symbolPattern = options.get("symbol_pattern");
        rules.isoInstantPattern = options.get("iso_instant_pattern");
        rules.otherTypes = options.get("other_types");
        rules.maxBytes = integer("max_bytes");
        rules.maxDepth = integer("max_depth");
        rules.minEventMs = number("min_event_ms");
        rules.maxFutureMs = number("max_future_ms");
        rules.maxPrice = Double.parseDouble(options.get("max_price"));
        rules.maxSize = number("max_size");
        rules.maxTradeIdLength = integer("max_trade_id_length");
        rules.maxSourceLength = integer("max_source_length");
        return rules;
    }

    private long number(String key) {
        return Long.parseLong(options.get(key));
    }

    private int integer(String key) {
        return Integer.parseInt(options.get(key));
    }

    private Duration millis(String key) {
        return Duration.ofMillis(number(key));
    }

    /**
     * A good tick's event time (plausible: the parser checked it). A rejected record gets epoch 0, which
     * never moves the watermark (max - bound), so one record from the year 3000 cannot push it past every
     * good tick.
     */
    static final class EventTime implements SerializableTimestampAssigner<RowData> {
        private static final long serialVersionUID = 1L;
        private static final int REASON = MarketDataStreams.checkedField("reason");
        private static final int EVENT_MS = MarketDataStreams.checkedField("timestamp");

        @Override
        public long extractTimestamp(RowData row, long recordTimestamp) {
            return row.isNullAt(REASON) ? row.getLong(EVENT_MS) : 0L;
        }
    }
}
