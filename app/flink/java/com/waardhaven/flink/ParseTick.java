package com.waardhaven.flink;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Pattern;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * parse_tick(payload): parses and validates one raw market tick, trusting nothing about its producer.
 *
 * <p>Returns the normalised fields and {@code reason = NULL} for a good tick, or the first problem found
 * as {@code reason} (a short code, e.g. {@code missing_field:price}) for a bad one. The limits are
 * arguments, filled by app/flink/market_data.py from app.schemas, where the tick's rules live.
 *
 * <p>One streaming pass over the JSON (no tree of nodes): the whole object is read first, so malformed
 * JSON anywhere in it is reported as such, then the fields are checked in a fixed order. A repeated key
 * counts with its last value.
 */
public class ParseTick extends ScalarFunction {
    static final String ROW_TYPE =
            "ROW<symbol STRING, event_ms BIGINT, price DOUBLE, volume BIGINT, bid DOUBLE, ask DOUBLE,"
                    + " bid_size BIGINT, ask_size BIGINT, `sequence` BIGINT, trade_id STRING, source STRING, reason STRING>";

    /** Reason prefix of records that are valid but not ticks; the job drops these instead of dead-lettering. */
    static final String SKIPPED_PREFIX = "skipped:";

    /** The fields read; the order of this enum is not the order of the checks. */
    private enum Name { TYPE, SYMBOL, TIMESTAMP, PRICE, VOLUME, BID, ASK, BID_SIZE, ASK_SIZE, SEQUENCE, TRADE_ID,
        SOURCE }

    private transient JsonFactory json;
    private transient Pattern symbolPattern;
    private transient Value[] values;

    @Override
    public void open(FunctionContext context) {
        json = new ConfinedJsonFactory();
        values = new Value[Name.values().length];
        for (int i = 0; i < values.length; i++) {
            values[i] = new Value();
        }
    }

    /** It reads the clock (timestamp plausibility); this also stops the planner from calling it per field. */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    /** Returned in Flink's internal format: no conversion per record. */
    @DataTypeHint(value = ROW_TYPE, bridgedTo = RowData.class)
    public RowData eval(byte[] payload, String symbolRegex, int maxBytes, long minEventMs, long maxFutureMs,
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
        try {
            if (!read(payload)) {
                return rejected("not_a_json_object");
            }
        } catch (IOException e) {
            return rejected("malformed_json");
        }
        try {
            String type = get(Name.TYPE).optionalText("type");
            if (type != null && !type.equals("tick")) {
                // Quotes and bars share the raw topic but are no trade prices: not this job's input.
                return rejected(SKIPPED_PREFIX + type);
            }
            String symbol = get(Name.SYMBOL).requiredText("symbol").trim().toUpperCase(Locale.ROOT);
            if (!symbolPattern.matcher(symbol).matches()) {
                return rejected("invalid_symbol");
            }
            long eventMs = get(Name.TIMESTAMP).timestamp();
            if (!TickEventTime.plausible(eventMs, minEventMs, maxFutureMs)) {
                return rejected("timestamp_out_of_range");
            }
            double price = get(Name.PRICE).requiredNumber("price");
            if (!(price > 0) || price >= maxPrice) {
                return rejected("price_out_of_range");
            }
            long volume = get(Name.VOLUME).requiredInteger("volume");
            if (volume < 0) {
                return rejected("negative_volume");
            }
            Double bid = get(Name.BID).optionalNumber("bid");
            Double ask = get(Name.ASK).optionalNumber("ask");
            if ((bid != null && bid < 0) || (ask != null && ask < 0)) {
                return rejected("negative_quote");
            }
            Long bidSize = get(Name.BID_SIZE).optionalInteger("bid_size");
            Long askSize = get(Name.ASK_SIZE).optionalInteger("ask_size");
            Long sequence = get(Name.SEQUENCE).optionalInteger("sequence");
            return GenericRowData.of(StringData.fromString(symbol), eventMs, price, volume, bid, ask, bidSize,
                    askSize, sequence, StringData.fromString(get(Name.TRADE_ID).tradeId()),
                    StringData.fromString(get(Name.SOURCE).optionalText("source")), null);
        } catch (Invalid e) {
            return rejected(e.getMessage());
        }
    }

    /** Reads the payload's fields into {@link #values}; false if it is not a JSON object. */
    private boolean read(byte[] payload) throws IOException {
        for (Value value : values) {
            value.kind = Kind.ABSENT;
        }
        try (JsonParser parser = json.createParser(payload)) {
            if (parser.nextToken() != JsonToken.START_OBJECT) {
                return false;
            }
            String field;
            while ((field = parser.nextFieldName()) != null) {
                JsonToken token = parser.nextToken();
                Name name = name(field);
                if (name == null) {
                    parser.skipChildren();
                } else {
                    values[name.ordinal()].read(parser, token);
                }
            }
            if (parser.currentToken() != JsonToken.END_OBJECT) {
                throw new IOException("unterminated object");
            }
        }
        return true;
    }

    private static Name name(String field) {
        switch (field) {
            case "type": return Name.TYPE;
            case "symbol": return Name.SYMBOL;
            case "timestamp": return Name.TIMESTAMP;
            case "price": return Name.PRICE;
            case "volume": return Name.VOLUME;
            case "bid": return Name.BID;
            case "ask": return Name.ASK;
            case "bid_size": return Name.BID_SIZE;
            case "ask_size": return Name.ASK_SIZE;
            case "sequence": return Name.SEQUENCE;
            case "trade_id": return Name.TRADE_ID;
            case "source": return Name.SOURCE;
            default: return null;
        }
    }

    private Value get(Name name) {
        return values[name.ordinal()];
    }

    private static RowData rejected(String reason) {
        return GenericRowData.of(null, null, null, null, null, null, null, null, null, null, null,
                StringData.fromString(reason));
    }

    /** An ISO-8601 instant with a zone ("Z" or an offset) in epoch ms; a zoneless time is ambiguous. */
    static long isoInstant(String text) {
        return OffsetDateTime.parse(text.trim()).toInstant().toEpochMilli();
    }

    /** A validation failure; its message is the dead-letter reason. */
    private static final class Invalid extends Exception {
        Invalid(String reason) {
            super(reason, null, false, false);
        }
    }

    private enum Kind { ABSENT, NULL, STRING, INTEGER, BIG_INTEGER, FLOAT, OTHER }

    /** One field's value as read: its kind and, for scalars, its text or number. */
    private static final class Value {
        Kind kind = Kind.ABSENT;
        String text;
        long integer;
        double number;

        void read(JsonParser parser, JsonToken token) throws IOException {
            text = null;
            switch (token) {
                case VALUE_NULL:
                    kind = Kind.NULL;
                    break;
                case VALUE_STRING:
                    kind = Kind.STRING;
                    text = parser.getText();
                    break;
                case VALUE_NUMBER_INT:
                    if (parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                        kind = Kind.BIG_INTEGER;
                        text = parser.getBigIntegerValue().toString();
                    } else {
                        kind = Kind.INTEGER;
                        integer = parser.getLongValue();
                    }
                    number = parser.getDoubleValue();
                    break;
                case VALUE_NUMBER_FLOAT:
                    kind = Kind.FLOAT;
                    number = parser.getDoubleValue();
                    break;
                default:
                    kind = Kind.OTHER;
                    parser.skipChildren();
            }
        }

        boolean missing() {
            return kind == Kind.ABSENT || kind == Kind.NULL;
        }

        private void require(String field) throws Invalid {
            if (missing()) {
                throw new Invalid("missing_field:" + field);
            }
        }

        String requiredText(String field) throws Invalid {
            require(field);
            if (kind != Kind.STRING) {
                throw new Invalid("wrong_type:" + field);
            }
            return text;
        }

        String optionalText(String field) throws Invalid {
            return missing() ? null : requiredText(field);
        }

        double requiredNumber(String field) throws Invalid {
            require(field);
            if (kind != Kind.INTEGER && kind != Kind.BIG_INTEGER && kind != Kind.FLOAT) {
                throw new Invalid("wrong_type:" + field);
            }
            if (!Double.isFinite(number)) {
                throw new Invalid("not_finite:" + field);
            }
            return number;
        }

        Double optionalNumber(String field) throws Invalid {
            return missing() ? null : requiredNumber(field);
        }

        long requiredInteger(String field) throws Invalid {
            require(field);
            if (kind == Kind.INTEGER) {
                return integer;
            }
            // 100.0 is an integer written by a float-minded producer; 100.5 is not.
            if (kind == Kind.FLOAT) {
                double value = requiredNumber(field);
                if (value == Math.rint(value) && Math.abs(value) < 9.0e15) {
                    return (long) value;
                }
            }
            throw new Invalid("wrong_type:" + field);
        }

        Long optionalInteger(String field) throws Invalid {
            return missing() ? null : requiredInteger(field);
        }

        /** The vendor's trade id; numbers and strings are both common on the wire. */
        String tradeId() throws Invalid {
            switch (kind) {
                case ABSENT:
                case NULL:
                    return null;
                case STRING:
                case BIG_INTEGER:
                    return text;
                case INTEGER:
                    return Long.toString(integer);
                default:
                    throw new Invalid("wrong_type:trade_id");
            }
        }

        /** Epoch milliseconds (integer) or an ISO-8601 instant with zone ("Z" or an offset). */
        long timestamp() throws Invalid {
            require("timestamp");
            switch (kind) {
                case INTEGER:
                    return integer;
                case BIG_INTEGER:
                    throw new Invalid("timestamp_out_of_range");
                case STRING:
                    try {
                        return isoInstant(text);
                    } catch (DateTimeParseException e) {
                        throw new Invalid("bad_timestamp");
                    }
                default:
                    throw new Invalid("wrong_type:timestamp");
            }
        }
    }
}
