package com.waardhaven.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * tick_event_time(payload, min_event_ms, max_future_ms): the tick's event time in epoch ms, or NULL.
 *
 * <p>Runs in the source's watermark generator, on every record, before validation: it only scans for the
 * top-level "timestamp" field, and returns NULL for anything implausible, so one record from the year
 * 3000 cannot push the watermark past every good tick.
 */
public class TickEventTime extends ScalarFunction {
    private transient JsonFactory json;

    static boolean plausible(long eventMs, long minEventMs, long maxFutureMs) {
        return eventMs >= minEventMs && eventMs <= System.currentTimeMillis() + maxFutureMs;
    }

    @Override
    public void open(FunctionContext context) {
        json = new ConfinedJsonFactory();
    }

    @Override
    public boolean isDeterministic() {
        return false; // reads the clock
    }

    public @DataTypeHint("BIGINT") Long eval(byte[] payload, long minEventMs, long maxFutureMs) {
        if (payload == null) {
            return null;
        }
        try (JsonParser parser = json.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String field = parser.getCurrentName();
                JsonToken value = parser.nextToken();
                if (!"timestamp".equals(field)) {
                    parser.skipChildren();
                    continue;
                }
                long eventMs;
                if (value == JsonToken.VALUE_NUMBER_INT) {
                    eventMs = parser.getLongValue();
                } else if (value == JsonToken.VALUE_STRING) {
                    eventMs = ParseTick.isoInstant(parser.getText());
                } else {
                    return null;
                }
                return plausible(eventMs, minEventMs, maxFutureMs) ? eventMs : null;
            }
            return null;
        } catch (Exception e) {
            return null;
        }
    }
}
