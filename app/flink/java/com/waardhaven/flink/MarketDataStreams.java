package com.waardhaven.flink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.utils.ProjectedRowData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.table.types.DataType;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * The DataStream part of the market-data job, between its SQL source and its SQL sinks:
 * {@code checked} (every parsed record with its reject reason) splits into the rejected records and the
 * ticks; the ticks, keyed by symbol, go through {@link SymbolIndicators} and {@link ProcessedJson}. Both
 * come back as views for the job's INSERTs. Rows stay in Flink's internal format (RowData) across the
 * bridge: no conversion per row.
 *
 * <p>Called once from app/flink/market_data.py (through py4j) while the job is built.
 */
public final class MarketDataStreams {
    /**
     * The columns of {@code checked} that the indicators operator takes, in its input's order; with
     * {@link #INDICATOR_FIELDS} the fields of a market-data-processed record, in its order.
     */
    static final List<String> TICK_FIELDS = List.of(
            "symbol", "timestamp", "price", "volume", "bid", "ask", "bid_size", "ask_size", "sequence",
            "trade_id", "source");
    /** The columns it adds. */
    static final String[] INDICATOR_FIELDS = {"sma_20", "sma_50", "rsi_14", "bollinger_upper", "bollinger_lower"};

    static int tickField(String name) {
        return TICK_FIELDS.indexOf(name);
    }

    /**
     * Registers the views {@code processedView} (symbol and JSON record of each tick with its indicators)
     * and {@code rejectedView} (the rows of {@code checkedView} with a reason).
     */
    public void register(StreamTableEnvironment tables, String checkedView, String processedView,
            String rejectedView, String indicatorsUid, String pipelineVersion) {
        Table checked = tables.from(checkedView);
        DataType checkedType = checked.getResolvedSchema().toPhysicalRowDataType().bridgedTo(RowData.class);
        RowType checkedRow = (RowType) checkedType.getLogicalType();
        DataStream<RowData> rows = tables.toDataStream(checked, checkedType);

        int[] tickColumns = TICK_FIELDS.stream().mapToInt(checkedRow::getFieldIndex).toArray();
        RowType tickRow = project(checkedRow, tickColumns);
        OutputTag<RowData> rejectedTag = new OutputTag<>("rejected", InternalTypeInfo.of(checkedRow));
        SingleOutputStreamOperator<RowData> ticks = rows
                .process(new Split(checkedRow.getFieldIndex("reason"), tickColumns, rejectedTag),
                        InternalTypeInfo.of(tickRow))
                .name("split rejected records");

        List<RowType.RowField> enrichedFields = new ArrayList<>(tickRow.getFields());
        for (String name : INDICATOR_FIELDS) {
            enrichedFields.add(new RowType.RowField(name, DataTypes.DOUBLE().getLogicalType()));
        }
        RowType enrichedRow = new RowType(enrichedFields);
        DataStream<RowData> processed = ticks
                .keyBy(new BySymbol(), Types.STRING)
                .process(new SymbolIndicators(tickRow), InternalTypeInfo.of(enrichedRow))
                .uid(indicatorsUid)
                .name("indicators per symbol")
                .map(new ProcessedJson(enrichedRow, pipelineVersion), InternalTypeInfo.of(ProcessedJson.OUTPUT))
                .name("processed record");

        tables.createTemporaryView(processedView, tables.fromDataStream(processed));
        tables.createTemporaryView(rejectedView, tables.fromDataStream(ticks.getSideOutput(rejectedTag)));
    }

    private static RowType project(RowType row, int[] columns) {
        LogicalType[] types = Arrays.stream(columns).mapToObj(row::getTypeAt).toArray(LogicalType[]::new);
        String[] names = Arrays.stream(columns).mapToObj(i -> row.getFieldNames().get(i)).toArray(String[]::new);
        return RowType.of(types, names);
    }

    /** Records with a reason go to the side output whole; ticks go on with the tick columns only. */
    static final class Split extends ProcessFunction<RowData, RowData> {
        private final int reason;
        private final int[] tickColumns;
        private final OutputTag<RowData> rejected;
        private transient ProjectedRowData tick;

        Split(int reason, int[] tickColumns, OutputTag<RowData> rejected) {
            this.reason = reason;
            this.tickColumns = tickColumns;
            this.rejected = rejected;
        }

        @Override
        public void processElement(RowData row, Context ctx, Collector<RowData> out) {
            if (row.isNullAt(reason)) {
                if (tick == null) {
                    tick = ProjectedRowData.from(tickColumns);
                }
                out.collect(tick.replaceRow(row));
            } else {
                ctx.output(rejected, row);
            }
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
