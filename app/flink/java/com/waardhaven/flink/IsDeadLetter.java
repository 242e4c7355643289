package com.waardhaven.flink;

import java.util.HashMap;
import java.util.Map;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * is_dead_letter(reason): whether a record with this reject reason goes to the dead-letter topic (it has a
 * reason that is not a {@code skipped:} one), counting each one in the operator metric
 * {@code reason.dead_letters} with the variable {@code reason}; the Prometheus reporter exports it as
 * {@code flink_taskmanager_job_task_operator_reason_dead_letters{reason="..."}}. A skipped record (a quote or
 * bar: valid, but no trade) is counted by its type in {@code record_type.skipped_records}, exported as
 * {@code flink_taskmanager_job_task_operator_record_type_skipped_records{record_type="quote"}}.
 *
 * <p>Used as a filter, which the planner evaluates once per record (a projection it may repeat per use).
 */
public class IsDeadLetter extends ScalarFunction {
    static final String METRIC = "dead_letters";
    static final String SKIPPED_METRIC = "skipped_records";

    private transient MetricGroup metrics;
    private transient Map<String, Counter> counters;
    private transient Map<String, Counter> skipped;

    @Override
    public void open(FunctionContext context) {
        metrics = context.getMetricGroup();
        counters = new HashMap<>();
        skipped = new HashMap<>();
    }

    /** It has a side effect (the count): the planner must neither fold nor repeat it. */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    public boolean eval(String reason) {
        if (reason == null) {
            return false;
        }
        if (reason.startsWith(TickParser.SKIPPED_PREFIX)) {
            // The parser skips only the topic's known other types: a bounded set of label values.
            skipped.computeIfAbsent(reason, code -> metrics.addGroup("record_type",
                    code.substring(TickParser.SKIPPED_PREFIX.length())).counter(SKIPPED_METRIC)).inc();
            return false;
        }
        counters.computeIfAbsent(reason, code -> metrics.addGroup("reason", code).counter(METRIC)).inc();
        return true;
    }
}
