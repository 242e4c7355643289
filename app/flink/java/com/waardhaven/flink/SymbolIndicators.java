package com.waardhaven.flink;

import java.io.IOException;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.data.binary.BinaryRowData;
import org.apache.flink.table.data.utils.JoinedRowData;
import org.apache.flink.table.runtime.typeutils.RowDataSerializer;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Per symbol, in event time: holds each tick until the watermark passes it, then emits the ticks in
 * event-time order (ties in arrival order) with their indicators, dropping replays.
 *
 * <p>One state value per symbol ({@link SymbolState}: indicators and pending ticks) and at most one
 * event-time timer, at the earliest pending tick: the per-row state and timer work of a SQL
 * {@code OVER ... ORDER BY event_time} done once per symbol and watermark instead.
 *
 * <p>Input rows have {@link MarketDataStreams#TICK_ROW}'s columns; output rows those and
 * {@link MarketDataStreams#INDICATOR_FIELDS}, NULL while a window is not full.
 *
 * <p>Late ticks: a tick older than the latest its symbol has emitted can no longer be placed (the indicators
 * of that later tick are out), so it goes to the {@code late} output as a {@link MarketDataStreams#REJECTED_ROW},
 * with the parsed tick as JSON for the raw bytes, which are not carried this far. Lateness is the symbol's
 * own, not the watermark's: a symbol's ticks come in order from one partition, while the watermark follows
 * the others whenever that partition waited its turn (a backlog after a restart or an outage, an idle
 * partition resuming). A tick behind the watermark but after its symbol's latest joins the pending ones and
 * goes out at the next watermark, in order.
 *
 * <p>Metrics (mapped onto the pipeline metrics by the recording rules of app/monitoring/flink.py): ticks
 * emitted and replays dropped as {@code status.<success|duplicate>.messages_processed}, and the time from a
 * tick's event time to its emission (which includes the wait for the watermark) as the histogram
 * {@code stage.indicators.processing_latency_seconds} ({@link LatencyHistogram}).
 */
public class SymbolIndicators extends KeyedProcessFunction<String, RowData, RowData> {
    static final String STAGE = "indicators";
    static final String PROCESSED_METRIC = "messages_processed";
    static final String LATENCY_METRIC = "processing_latency_seconds";
    private static final int EVENT_MS = MarketDataStreams.tickField("timestamp");
    private static final int PRICE = MarketDataStreams.tickField("price");
    private static final int VOLUME = MarketDataStreams.tickField("volume");
    private static final int SEQUENCE = MarketDataStreams.tickField("sequence");
    private static final int TRADE_ID = MarketDataStreams.tickField("trade_id");

    private transient ValueState<SymbolState> state;
    private transient RowDataSerializer ticks;
    private transient GenericRowData values;
    private transient JoinedRowData output;
    private transient GenericRowData rejection;
    private transient Counter emitted;
    private transient Counter duplicates;
    private transient LatencyHistogram latency;

    private final OutputTag<RowData> late;
    private final RowJson lateJson;
    private final String latencyBuckets;

    /** {@code latencyBuckets}: the histogram's bucket bounds, as their label text, comma-separated. */
    public SymbolIndicators(OutputTag<RowData> late, String pipelineVersion, String latencyBuckets) {
        this.late = late;
        this.lateJson = new RowJson(MarketDataStreams.TICK_ROW, pipelineVersion);
        this.latencyBuckets = latencyBuckets;
    }

    @Override
    public void open(Configuration parameters) throws IOException {
        state = getRuntimeContext().getState(new ValueStateDescriptor<>("symbol", new SymbolState.Serializer()));
        ticks = new RowDataSerializer(MarketDataStreams.TICK_ROW);
        values = new GenericRowData(MarketDataStreams.INDICATOR_FIELDS.length);
        output = new JoinedRowData();
        rejection = GenericRowData.of(StringData.fromString("late"), null);
        lateJson.open();
        MetricGroup metrics = getRuntimeContext().getMetricGroup();
        emitted = metrics.addGroup("status", "success").counter(PROCESSED_METRIC);
        duplicates = metrics.addGroup("status", "duplicate").counter(PROCESSED_METRIC);
        latency = new LatencyHistogram(metrics.addGroup("stage", STAGE), LATENCY_METRIC, latencyBuckets);
    }

    @Override
    public void processElement(RowData row, Context ctx, Collector<RowData> out) throws Exception {
        SymbolState s = state.value();
        if (s == null) {
            s = new SymbolState();
        }
        // Rows from the network are binary already; anything else is converted (and copied off reuse).
        BinaryRowData tick = row instanceof BinaryRowData ? (BinaryRowData) row : ticks.toBinaryRow(row).copy();
        long eventMs = tick.getLong(EVENT_MS);
        if (eventMs < s.indicators.latestEventMs()) {
            rejection.setField(1, lateJson.write(tick));
            ctx.output(late, rejection);
            return;
        }
        if (s.insert(tick, eventMs, EVENT_MS) == 0) {
            // A new earliest pending tick: the symbol's one timer moves to it.
            if (s.pending.size() > 1) {
                ctx.timerService().deleteEventTimeTimer(s.pending.get(1).getLong(EVENT_MS));
            }
            ctx.timerService().registerEventTimeTimer(eventMs);
        }
        state.update(s);
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<RowData> out) throws Exception {
        SymbolState s = state.value();
        long watermark = ctx.timerService().currentWatermark();
        int done = 0;
        while (done < s.pending.size() && s.pending.get(done).getLong(EVENT_MS) <= watermark) {
            emit(s.indicators, s.pending.get(done), out);
            done++;
        }
        s.pending.subList(0, done).clear();
        if (!s.pending.isEmpty()) {
            ctx.timerService().registerEventTimeTimer(s.pending.get(0).getLong(EVENT_MS));
        }
        state.update(s);
    }

    private void emit(Indicators indicators, BinaryRowData tick, Collector<RowData> out) {
        long eventMs = tick.getLong(EVENT_MS);
        if (!indicators.add(tick.getDouble(PRICE), eventMs, tradeKey(tick))) {
            duplicates.inc();
            return;
        }
        double sma20 = indicators.sma20();
        boolean bands = !Double.isNaN(sma20);
        double sigma = bands ? indicators.sigma20(sma20) : Double.NaN;
        values.setField(0, orNull(sma20));
        values.setField(1, orNull(indicators.sma50()));
        values.setField(2, orNull(indicators.rsi14()));
        values.setField(3, bands ? sma20 + Indicators.BAND_SIGMAS * sigma : null);
        values.setField(4, bands ? sma20 - Indicators.BAND_SIGMAS * sigma : null);
        out.collect(output.replace(tick, values));
        emitted.inc();
        latency.observe((System.currentTimeMillis() - eventMs) / 1000.0);
    }

    /** What tells two trades of one timestamp apart: the vendor's trade id, its sequence, or price/volume. */
    private static String tradeKey(RowData tick) {
        if (!tick.isNullAt(TRADE_ID)) {
            return tick.getString(TRADE_ID).toString();
        }
        if (!tick.isNullAt(SEQUENCE)) {
            return Long.toString(tick.getLong(SEQUENCE));
        }
        // The price's bits, not its decimal text: the same key, without formatting a double per tick.
        return Double.doubleToLongBits(tick.getDouble(PRICE)) + "/" + tick.getLong(VOLUME);
    }

    private static Double orNull(double value) {
        return Double.isNaN(value) ? null : value;
    }
}
