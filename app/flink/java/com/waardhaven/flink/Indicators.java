package com.waardhaven.flink;

import java.io.IOException;
import java.util.HashSet;

import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * One symbol's SMA 20, SMA 50, RSI 14 (Wilder) and Bollinger (20, 2 population sigma), fed its trades in
 * event-time order, and the replay filter that rides on that order.
 *
 * <p>Replays: a replay of a tick (same timestamp and trade key) comes right among the ticks of that
 * timestamp, so only the keys of the latest timestamp need remembering.
 *
 * <p>Exact by construction: the last 50 prices live in a ring buffer and every output is recomputed from
 * it (two-pass variance), so no running sum drifts over a long stream. Wilder's RSI is recursive; its
 * state is three numbers.
 *
 * <p>Conventions (the reference in tests/flink/reference.py follows them): an indicator is absent (NaN
 * here) until its window is full (SMA n from the n-th price, Bollinger from the 20th, RSI from the 15th
 * price, i.e. after 14 changes). RSI is seeded with the plain mean gain and loss of the first 14 changes,
 * then smoothed as avg = (avg * 13 + x) / 14; it is 100 * avgGain / (avgGain + avgLoss), and 50 when the
 * price never moved.
 */
final class Indicators {
    static final int LONG_WINDOW = 50;
    static final int SHORT_WINDOW = 20;
    static final int RSI_PERIOD = 14;
    static final double BAND_SIGMAS = 2.0;

    private final double[] recent = new double[LONG_WINDOW];
    private long count;
    private double previous;
    private double gain;
    private double loss;
    private long latestEventMs = Long.MIN_VALUE;
    private final HashSet<String> keysAtLatest = new HashSet<>();

    /** The event time of the latest trade taken (Long.MIN_VALUE before the first). */
    long latestEventMs() {
        return latestEventMs;
    }

    /** Takes the next trade; false (and no change) if it replays one already taken. */
    boolean add(double price, long eventMs, String tradeKey) {
        if (eventMs != latestEventMs) {
            latestEventMs = eventMs;
            keysAtLatest.clear();
        }
        if (!keysAtLatest.add(tradeKey)) {
            return false;
        }
        if (count > 0) {
            double change = price - previous;
            double up = Math.max(change, 0.0);
            double down = Math.max(-change, 0.0);
            if (count <= RSI_PERIOD) {
                // Seeding: sum the first 14 changes; they become a plain mean at the 14th.
                gain += up;
                loss += down;
                if (count == RSI_PERIOD) {
                    gain /= RSI_PERIOD;
                    loss /= RSI_PERIOD;
                }
            } else {
                gain = (gain * (RSI_PERIOD - 1) + up) / RSI_PERIOD;
                loss = (loss * (RSI_PERIOD - 1) + down) / RSI_PERIOD;
            }
        }
        recent[(int) (count % LONG_WINDOW)] = price;
        previous = price;
        count++;
        return true;
    }

    double sma20() {
        return count >= SHORT_WINDOW ? mean(SHORT_WINDOW) : Double.NaN;
    }

    double sma50() {
        return count >= LONG_WINDOW ? mean(LONG_WINDOW) : Double.NaN;
    }

    double rsi14() {
        if (count <= RSI_PERIOD) {
            return Double.NaN;
        }
        double moved = gain + loss;
        return moved == 0.0 ? 50.0 : 100.0 * gain / moved;
    }

    /** sigma of the last 20 prices, for the bands around sma20(). */
    double sigma20(double sma20) {
        double sum = 0.0;
        for (int i = 0; i < SHORT_WINDOW; i++) {
            double d = back(i) - sma20;
            sum += d * d;
        }
        return Math.sqrt(sum / SHORT_WINDOW);
    }

    /** The i-th most recent price, i = 0 being the latest. */
    private double back(int i) {
        return recent[(int) ((count - 1 - i) % LONG_WINDOW)];
    }

    private double mean(int n) {
        double sum = 0.0;
        for (int i = 0; i < n; i++) {
            sum += back(i);
        }
        return sum / n;
    }

    Indicators copy() {
        Indicators c = new Indicators();
        System.arraycopy(recent, 0, c.recent, 0, LONG_WINDOW);
        c.count = count;
        c.previous = previous;
        c.gain = gain;
        c.loss = loss;
        c.latestEventMs = latestEventMs;
        c.keysAtLatest.addAll(keysAtLatest);
        return c;
    }

    void write(DataOutputView out) throws IOException {
        for (double p : recent) {
            out.writeDouble(p);
        }
        out.writeLong(count);
        out.writeDouble(previous);
        out.writeDouble(gain);
        out.writeDouble(loss);
        out.writeLong(latestEventMs);
        out.writeInt(keysAtLatest.size());
        for (String key : keysAtLatest) {
            out.writeUTF(key);
        }
    }

    static Indicators read(DataInputView in) throws IOException {
        Indicators s = new Indicators();
        for (int i = 0; i < LONG_WINDOW; i++) {
            s.recent[i] = in.readDouble();
        }
        s.count = in.readLong();
        s.previous = in.readDouble();
        s.gain = in.readDouble();
        s.loss = in.readDouble();
        s.latestEventMs = in.readLong();
        for (int n = in.readInt(); n > 0; n--) {
            s.keysAtLatest.add(in.readUTF());
        }
        return s;
    }
}
