package com.waardhaven.flink;

import java.util.HashSet;

import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.annotation.FunctionHint;
import org.apache.flink.table.functions.AggregateFunction;
import org.apache.flink.types.Row;

/**
 * technical_indicators(price, event_ms, trade_key): SMA 20, SMA 50, RSI 14 (Wilder) and Bollinger (20, 2
 * population sigma) of one symbol's prices, used as
 * {@code OVER (PARTITION BY symbol ORDER BY event_time ROWS UNBOUNDED PRECEDING)}.
 *
 * <p>It also drops replays: the OVER window hands over rows in event-time order, so a replay of a tick
 * (same timestamp and trade key) comes right among the rows of that timestamp, and only the keys of the
 * latest timestamp need remembering. Such a row leaves the state untouched and is flagged
 * {@code duplicate}. (A replay arriving after the watermark passed its timestamp is dead-lettered as
 * late before it gets here.)
 *
 * <p>Exact by construction: the last 50 prices live in a ring buffer and every output is recomputed from
 * it (two-pass variance), so no running sum drifts over a long stream. Wilder's RSI is recursive, which
 * no bounded SQL window expresses; its state is four numbers.
 *
 * <p>Conventions (the reference in tests/flink/reference.py follows them): an indicator is NULL until its
 * window is full (SMA n from the n-th price, Bollinger from the 20th, RSI from the 15th price, i.e. after
 * 14 changes). RSI is seeded with the plain mean gain and loss of the first 14 changes, then smoothed as
 * avg = (avg * 13 + x) / 14; it is 100 * avgGain / (avgGain + avgLoss), and 50 when the price never moved.
 */
@FunctionHint(
        // RAW: the heap state backend keeps the object as is, instead of converting 50 prices per record.
        accumulator = @DataTypeHint(value = "RAW", bridgedTo = TechnicalIndicators.State.class),
        output = @DataTypeHint(
                "ROW<sma_20 DOUBLE, sma_50 DOUBLE, rsi_14 DOUBLE, bollinger_upper DOUBLE, bollinger_lower DOUBLE,"
                + " duplicate BOOLEAN>"))
public class TechnicalIndicators extends AggregateFunction<Row, TechnicalIndicators.State> {
    static final int LONG_WINDOW = 50;
    static final int SHORT_WINDOW = 20;
    static final int RSI_PERIOD = 14;
    static final double BAND_SIGMAS = 2.0;

    /** Per-symbol state; checkpointed by Flink's Kryo serializer (a plain class of primitives). */
    public static class State {
        public double[] recent = new double[LONG_WINDOW];
        public long count;
        public double previous;
        public double gain;
        public double loss;
        public long latestEventMs = Long.MIN_VALUE;
        public HashSet<String> keysAtLatest = new HashSet<>();
        public boolean lastWasDuplicate;
    }

    @Override
    public State createAccumulator() {
        return new State();
    }

    public void accumulate(State s, Double price, Long eventMs, String tradeKey) {
        if (eventMs != s.latestEventMs) {
            s.latestEventMs = eventMs;
            s.keysAtLatest.clear();
        }
        s.lastWasDuplicate = !s.keysAtLatest.add(tradeKey);
        if (s.lastWasDuplicate) {
            return;
        }
        double p = price;
        if (s.count > 0) {
            double change = p - s.previous;
            double up = Math.max(change, 0.0);
            double down = Math.max(-change, 0.0);
            if (s.count <= RSI_PERIOD) {
                // Seeding: sum the first 14 changes; they become a plain mean at the 14th.
                s.gain += up;
                s.loss += down;
                if (s.count == RSI_PERIOD) {
                    s.gain /= RSI_PERIOD;
                    s.loss /= RSI_PERIOD;
                }
            } else {
                s.gain = (s.gain * (RSI_PERIOD - 1) + up) / RSI_PERIOD;
                s.loss = (s.loss * (RSI_PERIOD - 1) + down) / RSI_PERIOD;
            }
        }
        s.recent[(int) (s.count % LONG_WINDOW)] = p;
        s.previous = p;
        s.count++;
    }

    @Override
    public Row getValue(State s) {
        Double sma20 = null;
        Double upper = null;
        Double lower = null;
        if (s.count >= SHORT_WINDOW) {
            double mean = mean(s, SHORT_WINDOW);
            double sigma = Math.sqrt(variance(s, SHORT_WINDOW, mean));
            sma20 = mean;
            upper = mean + BAND_SIGMAS * sigma;
            lower = mean - BAND_SIGMAS * sigma;
        }
        Double sma50 = s.count >= LONG_WINDOW ? mean(s, LONG_WINDOW) : null;
        Double rsi = null;
        if (s.count > RSI_PERIOD) {
            double moved = s.gain + s.loss;
            rsi = moved == 0.0 ? 50.0 : 100.0 * s.gain / moved;
        }
        return Row.of(sma20, sma50, rsi, upper, lower, s.lastWasDuplicate);
    }

    /** The i-th most recent price, i = 0 being the latest. */
    private static double back(State s, int i) {
        return s.recent[(int) ((s.count - 1 - i) % LONG_WINDOW)];
    }

    private static double mean(State s, int n) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            sum += back(s, i);
        }
        return sum / n;
    }

    private static double variance(State s, int n, double mean) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            double d = back(s, i) - mean;
            sum += d * d;
        }
        return sum / n;
    }
}
