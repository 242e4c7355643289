package com.waardhaven.flink;

import java.io.IOException;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Pattern;

import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonToken;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.data.StringData;
import org.apache.flink.table.runtime.typeutils.InternalTypeInfo;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * The market-data source's deserializer: parses and validates each raw record once, trusting nothing about
 * its producer, into a row of {@link MarketDataStreams#CHECKED_ROW}.
 *
 * <p>A good tick has its normalised fields and {@code reason = NULL}; a bad record only the first problem
 * found as {@code reason} (a short code, e.g. {@code missing_field:price}). Both keep the raw bytes as
 * {@code value}, for the dead-letter envelope. The limits come from app/flink/market_data.py, which takes
 * them from app.schemas, where the tick's rules live.
 *
 * <p>One streaming pass over the JSON (no tree of nodes): the whole object is read first, so malformed
 * JSON anywhere in it is reported as such, then the fields are checked in a fixed order. A repeated key
 * counts with its last value.
 */
final class TickParser implements KafkaRecordDeserializationSchema<RowData> {
    private static final long serialVersionUID = 1L;
    private static final int REASON = MarketDataStreams.checkedField("reason");
    private static final int VALUE = MarketDataStreams.checkedField("value");

    /** Reason prefix of records that are valid but not ticks; the job drops these instead of dead-lettering. */
    static final String SKIPPED_PREFIX = "skipped:";

    /** The fields read; the order of this enum is not the order of the checks. */
    private enum Name { TYPE, SYMBOL, TIMESTAMP, PRICE, VOLUME, BID, ASK, BID_SIZE, ASK_SIZE, SEQUENCE, TRADE_ID,
        SOURCE }

    private final String symbolRegex;
    private final int maxBytes;
    private final long minEventMs;
    private final long maxFutureMs;
    private final double maxPrice;
    private transient JsonFactory json;
    private transient Pattern symbolPattern;
    private transient Value[] values;

    TickParser(String symbolRegex, int maxBytes, long minEventMs, long maxFutureMs, double maxPrice) {
        this.symbolRegex = symbolRegex;
        this.maxBytes = maxBytes;
        this.minEventMs = minEventMs;
        this.maxFutureMs = maxFutureMs;
        this.maxPrice = maxPrice;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        json = new ConfinedJsonFactory();
        symbolPattern = Pattern.compile(symbolRegex);
        values = new Value[Name.values().length];
        for (int i = 0; i < values.length; i++) {
            values[i] = new Value();
        }
    }

    @Override
    public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RowData> out) {
        GenericRowData row = parse(record.value());
        row.setField(VALUE, record.value());
        out.collect(row);
    }

    @Override
    public TypeInformation<RowData> getProducedType() {
        return InternalTypeInfo.of(MarketDataStreams.CHECKED_ROW);
    }

    /** An event time that may move the watermark: not before minEventMs, not beyond now + maxFutureMs. */
    private boolean plausible(long eventMs) {
        return eventMs >= minEventMs && eventMs <= System.currentTimeMillis() + maxFutureMs;
    }

    private GenericRowData parse(byte[] payload) {
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
            if (!plausible(eventMs)) {
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
                    StringData.fromString(get(Name.SOURCE).optionalText("source")), null, null);
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

    private static GenericRowData rejected(String reason) {
        GenericRowData row = new GenericRowData(MarketDataStreams.CHECKED_ROW.getFieldCount());
        row.setField(REASON, StringData.fromString(reason));
        return row;
    }

    /** An ISO-8601 instant with a zone ("Z" or an offset) in epoch ms; a zoneless time is ambiguous. */
    private static long isoInstant(String text) {
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
