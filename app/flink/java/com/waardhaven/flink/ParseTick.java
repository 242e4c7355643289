package com.waardhaven.flink;

import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.regex.Pattern;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

/**
 * parse_tick(payload): parses and validates one raw market tick, trusting nothing about its producer.
 *
 * <p>Returns the normalised fields and {@code reason = NULL} for a good tick, or the first problem found
 * as {@code reason} (a short code, e.g. {@code missing_field:price}) for a bad one. The limits are
 * arguments, filled by app/flink/market_data.py from app.schemas, where the tick's rules live.
 */
public class ParseTick extends ScalarFunction {
    static final String ROW_TYPE =
            "ROW<symbol STRING, event_ms BIGINT, price DOUBLE, volume BIGINT, bid DOUBLE, ask DOUBLE,"
                    + " bid_size BIGINT, ask_size BIGINT, `sequence` BIGINT, trade_id STRING, source STRING, reason STRING>";

    /** Reason prefix of records that are valid but not ticks; the job drops these instead of dead-lettering. */
    static final String SKIPPED_PREFIX = "skipped:";

    private static final ObjectMapper MAPPER = new ObjectMapper();

    static {
        // Python producers write NaN/Infinity; parse them so they are rejected by name, not as bad JSON.
        MAPPER.enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);
    }

    private transient Pattern symbolPattern;

    /** It reads the clock (timestamp plausibility); this also stops the planner from calling it per field. */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    @DataTypeHint(ROW_TYPE)
    public Row eval(byte[] payload, String symbolRegex, int maxBytes, long minEventMs, long maxFutureMs,
            double maxPrice) {
        if (symbolPattern == null || !symbolPattern.pattern().equals(symbolRegex)) {
            symbolPattern = Pattern.compile(symbolRegex);
        }
        if (payload == null || payload.length == 0) {
            return rejected("empty_message");
        }
        if (payload.length > maxBytes) {
            return rejected("message_too_large");
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(payload);
        } catch (Exception e) {
            return rejected("malformed_json");
        }
        if (root == null || !root.isObject()) {
            return rejected("not_a_json_object");
        }
        try {
            String type = optionalText(root, "type");
            if (type != null && !type.equals("tick")) {
                // Quotes and bars share the raw topic but are no trade prices: not this job's input.
                return rejected(SKIPPED_PREFIX + type);
            }
            String symbol = requiredText(root, "symbol").trim().toUpperCase(java.util.Locale.ROOT);
            if (!symbolPattern.matcher(symbol).matches()) {
                return rejected("invalid_symbol");
            }
            long eventMs = timestamp(root);
            if (!TickEventTime.plausible(eventMs, minEventMs, maxFutureMs)) {
                return rejected("timestamp_out_of_range");
            }
            double price = requiredNumber(root, "price");
            if (!(price > 0) || price >= maxPrice) {
                return rejected("price_out_of_range");
            }
            long volume = requiredInteger(root, "volume");
            if (volume < 0) {
                return rejected("negative_volume");
            }
            Double bid = optionalNumber(root, "bid");
            Double ask = optionalNumber(root, "ask");
            if ((bid != null && bid < 0) || (ask != null && ask < 0)) {
                return rejected("negative_quote");
            }
            Long bidSize = optionalInteger(root, "bid_size");
            Long askSize = optionalInteger(root, "ask_size");
            Long sequence = optionalInteger(root, "sequence");
            return Row.of(symbol, eventMs, price, volume, bid, ask, bidSize, askSize, sequence,
                    tradeId(root), optionalText(root, "source"), null);
        } catch (Invalid e) {
            return rejected(e.getMessage());
        }
    }

    private static Row rejected(String reason) {
        return Row.of(null, null, null, null, null, null, null, null, null, null, null, reason);
    }

    /** A validation failure; its message is the dead-letter reason. */
    private static final class Invalid extends Exception {
        Invalid(String reason) {
            super(reason, null, false, false);
        }
    }

    private static JsonNode required(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            throw new Invalid("missing_field:" + field);
        }
        return node;
    }

    private static String requiredText(JsonNode root, String field) throws Invalid {
        JsonNode node = required(root, field);
        if (!node.isTextual()) {
            throw new Invalid("wrong_type:" + field);
        }
        return node.textValue();
    }

    private static double number(JsonNode node, String field) throws Invalid {
        if (!node.isNumber()) {
            throw new Invalid("wrong_type:" + field);
        }
        double value = node.doubleValue();
        if (!Double.isFinite(value)) {
            throw new Invalid("not_finite:" + field);
        }
        return value;
    }

    private static double requiredNumber(JsonNode root, String field) throws Invalid {
        return number(required(root, field), field);
    }

    private static Double optionalNumber(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        return node == null || node.isNull() ? null : number(node, field);
    }

    private static long integer(JsonNode node, String field) throws Invalid {
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return node.longValue();
        }
        // 100.0 is an integer written by a float-minded producer; 100.5 is not.
        if (node.isFloatingPointNumber()) {
            double value = number(node, field);
            if (value == Math.rint(value) && Math.abs(value) < 9.0e15) {
                return (long) value;
            }
        }
        throw new Invalid("wrong_type:" + field);
    }

    private static long requiredInteger(JsonNode root, String field) throws Invalid {
        return integer(required(root, field), field);
    }

    private static Long optionalInteger(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        return node == null || node.isNull() ? null : integer(node, field);
    }

    private static String optionalText(JsonNode root, String field) throws Invalid {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new Invalid("wrong_type:" + field);
        }
        return node.textValue();
    }

    /** The vendor's trade id; numbers and strings are both common on the wire. */
    private static String tradeId(JsonNode root) throws Invalid {
        JsonNode node = root.get("trade_id");
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isTextual() || node.isIntegralNumber()) {
            return node.asText();
        }
        throw new Invalid("wrong_type:trade_id");
    }

    /** Epoch milliseconds (integer) or an ISO-8601 instant with zone ("Z" or an offset). */
    static long timestamp(JsonNode root) throws Invalid {
        JsonNode node = required(root, "timestamp");
        if (node.isIntegralNumber()) {
            if (!node.canConvertToLong()) {
                throw new Invalid("timestamp_out_of_range");
            }
            return node.longValue();
        }
        if (node.isTextual()) {
            try {
                return isoInstant(node.textValue());
            } catch (DateTimeParseException e) {
                throw new Invalid("bad_timestamp");
            }
        }
        throw new Invalid("wrong_type:timestamp");
    }

    /** An ISO-8601 instant with a zone ("Z" or an offset) in epoch ms; a zoneless time is ambiguous. */
    static long isoInstant(String text) {
        return OffsetDateTime.parse(text.trim()).toInstant().toEpochMilli();
    }
}
