package com.waardhaven.flink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.bridge.internal.AbstractStreamTableEnvironmentImpl;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.utils.ProjectedRowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The market-data job from its source to its SQL sinks: the raw topic, parsed once per record
 * ({@link TickSource}), splits into the rejected records and the ticks; the ticks, keyed by symbol, go
 * through {@link SymbolIndicators} and {@link ProcessedJson}. Both come back as views for the job's INSERTs.
 * Rows stay in Flink's internal format (RowData) throughout: no conversion per row.
 *
 * <p>Called once from app/flink/market_data.py (through py4j) while the job is built.
 */
public final class MarketDataStreams {
    /** A tick's columns, in the operators' order; with {@link #INDICATOR_FIELDS} a processed record's fields. */
    static final RowType TICK_ROW = (RowType) DataTypes.ROW(
            DataTypes.FIELD("symbol", DataTypes.STRING()),
            DataTypes.FIELD("timestamp", DataTypes.BIGINT()),
            DataTypes.FIELD("price", DataTypes.DOUBLE()),
            DataTypes.FIELD("volume", DataTypes.BIGINT()),
            DataTypes.FIELD("bid", DataTypes.DOUBLE()),
            DataTypes.FIELD("ask", DataTypes.DOUBLE()),
            DataTypes.FIELD("bid_size", DataTypes.BIGINT()),
            DataTypes.FIELD("ask_size", DataTypes.BIGINT()),
            DataTypes.FIELD("sequence", DataTypes.BIGINT()),
            DataTypes.FIELD("trade_id", DataTypes.STRING()),
            DataTypes.FIELD("source", DataTypes.STRING())).getLogicalType();
    /** A parsed raw record: the tick's columns (NULL when rejected), the reject reason and the raw bytes. */
    static final RowType CHECKED_ROW = append(TICK_ROW,
            new RowType.RowField("reason", DataTypes.STRING().getLogicalType()),
            new RowType.RowField("value", DataTypes.BYTES().getLogicalType()));
    /** A rejected record, as the dead-letter INSERT reads it: its reason and its raw bytes. */
    static final RowType REJECTED_ROW = RowType.of(
            new LogicalType[] {DataTypes.STRING().getLogicalType(), DataTypes.BYTES().getLogicalType()},
            new String[] {"reason", "value"});
    /** The columns the indicators operator adds. */
    static final String[] INDICATOR_FIELDS = {"sma_20", "sma_50", "rsi_14", "bollinger_upper", "bollinger_lower"};

    static int tickField(String name) {
        return TICK_ROW.getFieldIndex(name);
    }

    static int checkedField(String name) {
        return CHECKED_ROW.getFieldIndex(name);
    }

    /**
     * Registers the views {@code processedView} (symbol and JSON record of each tick with its indicators)
     * and {@code rejectedView} (reason and raw bytes of each rejected record). {@code source} holds the
     * options of {@link TickSource}; {@code latencyBuckets} the bounds of the indicators' latency histogram
     * ({@link LatencyHistogram}).
     */
    public void register(StreamTableEnvironment tables, Map<String, String> source, String processedView,
            String rejectedView, String sourceUid, String indicatorsUid, String pipelineVersion,
            String latencyBuckets) {
        // The table environment's own: the job its INSERTs become includes these operators.
        StreamExecutionEnvironment env = ((AbstractStreamTableEnvironmentImpl) tables).execEnv();
        OutputTag<RowData> rejectedTag = new OutputTag<>("rejected", InternalTypeInfo.of(REJECTED_ROW));
        SingleOutputStreamOperator<RowData> ticks = new TickSource(source).read(env, sourceUid)
                .process(new Split(rejectedTag), InternalTypeInfo.of(TICK_ROW))
                .name("split rejected records");

        RowType enrichedRow = append(TICK_ROW, Arrays.stream(INDICATOR_FIELDS)
                .map(name -> new RowType.RowField(name, DataTypes.DOUBLE().getLogicalType()))
                .toArray(RowType.RowField[]::new));
        OutputTag<RowData> lateTag = new OutputTag<>("late", InternalTypeInfo.of(REJECTED_ROW));
        SingleOutputStreamOperator<RowData> enriched = ticks
                .keyBy(new BySymbol(), Types.STRING)
                .process(new SymbolIndicators(lateTag, pipelineVersion, latencyBuckets),
                        InternalTypeInfo.of(enrichedRow))
                .uid(indicatorsUid)
                .name("indicators per symbol");
        DataStream<RowData> processed = enriched
                .map(new ProcessedJson(enrichedRow, pipelineVersion), InternalTypeInfo.of(ProcessedJson.OUTPUT))
                .name("processed record");

        tables.createTemporaryView(processedView, tables.fromDataStream(processed));
        DataStream<RowData> rejected = ticks.getSideOutput(rejectedTag).union(enriched.getSideOutput(lateTag));
        tables.createTemporaryView(rejectedView, tables.fromDataStream(rejected));
    }

    private static RowType append(RowType row, RowType.RowField... fields) {
        List<RowType.RowField> all = new ArrayList<>(row.getFields());
        all.addAll(Arrays.asList(fields));
        return new RowType(all);
    }

    /**
     * Ticks go on with the tick columns only; rejected records go to the side output. Whether a tick comes
     * too late is for its symbol's state to say ({@link SymbolIndicators}): the watermark here mixes the
     * partitions of every symbol.
     */
    static final class Split extends ProcessFunction<RowData, RowData> {
        private static final int REASON = checkedField("reason");
        private static final int VALUE = checkedField("value");

        private final OutputTag<RowData> rejected;
        private transient ProjectedRowData tick;
        private transient GenericRowData rejection;

        Split(OutputTag<RowData> rejected) {
            this.rejected = rejected;
        }

        @Override
        public void open(Configuration parameters) {
            tick = ProjectedRowData.from(IntStream.range(0, TICK_ROW.getFieldCount()).toArray());
            rejection = new GenericRowData(REJECTED_ROW.getFieldCount());
        }

        @Override
        public void processElement(RowData row, Context ctx, Collector<RowData> out) {
            if (row.isNullAt(REASON)) {
                out.collect(tick.replaceRow(row));
                return;
            }
            rejection.setField(0, row.getString(REASON));
            rejection.setField(1, row.getBinary(VALUE));
            ctx.output(rejected, rejection);
        }
    }

    static final class BySymbol implements KeySelector<RowData, String> {
        private static final int SYMBOL = tickField("symbol");

        @Override
        public String getKey(RowData tick) {
            return tick.getString(SYMBOL).toString();
        }
    }
}
