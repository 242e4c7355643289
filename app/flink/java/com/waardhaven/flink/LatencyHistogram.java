package com.waardhaven.flink;

import java.util.Arrays;

import org.apache.flink.metrics.MetricGroup;

/**
 * A latency histogram in Prometheus' shape, made of Flink gauges, so that the Prometheus reporter exports
 * buckets Prometheus can aggregate over subtasks (a Flink {@code Histogram} is exported as a summary, whose
 * quantiles cannot be summed). In {@code group}: {@code le.<bound>.<name>_bucket} (cumulative, with
 * {@code +Inf}), {@code <name>_sum} and {@code <name>_count}, in seconds.
 *
 * <p>The bounds and their label text come from app/metrics.py (LATENCY_BUCKETS, as prometheus_client writes
 * them), so the Flink job's buckets are the Python components'. One writer (the task thread); the reporter
 * reads the gauges from its own thread and may see a value one observation old.
 */
final class LatencyHistogram {
    private final double[] bounds;
    private final long[] counts;
    private long count;
    private double sum;

    LatencyHistogram(MetricGroup group, String name, String bucketLabels) {
        String[] labels = bucketLabels.split(",");
        bounds = Arrays.stream(labels).mapToDouble(Double::parseDouble).toArray();
        for (int i = 1; i < bounds.length; i++) {
            if (!(bounds[i] > bounds[i - 1])) {
                throw new IllegalArgumentException("latency bucket bounds must increase: " + bucketLabels);
            }
        }
        counts = new long[bounds.length];
        for (int i = 0; i < bounds.length; i++) {
            final int bucket = i;
            group.addGroup("le", labels[i]).gauge(name + "_bucket", () -> cumulative(bucket));
        }
        group.addGroup("le", "+Inf").gauge(name + "_bucket", () -> count);
        group.gauge(name + "_sum", () -> sum);
        group.gauge(name + "_count", () -> count);
    }

    void observe(double seconds) {
        // The first bound >= seconds (Prometheus buckets are upper-inclusive); past the last: +Inf only.
        int at = Arrays.binarySearch(bounds, seconds);
        int bucket = at >= 0 ? at : -at - 1;
        if (bucket < counts.length) {
            counts[bucket]++;
        }
        count++;
        sum += seconds;
    }

    private long cumulative(int bucket) {
        long total = 0;
        for (int i = 0; i <= bucket; i++) {
            total += counts[i];
        }
        return total;
    }
}
