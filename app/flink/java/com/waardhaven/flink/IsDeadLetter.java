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
 * {@code flink_taskmanager_job_task_operator_reason_dead_letters{reason="..."}}.
 *
 * <p>Used as a filter, which the planner evaluates once per record (a projection it may repeat per use).
 */
public class IsDeadLetter extends ScalarFunction {
    static final String METRIC = "dead_letters";

    private transient MetricGroup metrics;
    private transient Map<String, Counter> counters;

    @Override
    public void open(FunctionContext context) {
        metrics = context.getMetricGroup();
        counters = new HashMap<>();
    }

    /** It has a side effect (the count): the planner must neither fold nor repeat it. */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    public boolean eval(String reason) {
        if (reason == null || reason.startsWith(TickParser.SKIPPED_PREFIX)) {
            return false;
        }
        counters.computeIfAbsent(reason, code -> metrics.addGroup("reason", code).counter(METRIC)).inc();
        return true;
    }
}
