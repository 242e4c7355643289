package com.waardhaven.flink;

import java.io.IOException;
import java.time.DateTimeException;
import java.time.OffsetDateTime;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
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
 * <p>The rules are app.schemas' (PriceTick and {@code parse_record}), checked against one shared corpus of
 * good and bad records (tests/app/flink/tick_corpus.jsonl). Strict JSON: UTF-8 without a byte-order mark,
 * one JSON object and nothing after it but whitespace, no duplicate keys, nesting at most {@code maxDepth}.
 * Records of the topic's other types (quotes, bars) are valid but no trades: skipped, and counted by type.
 *
 * <p>One streaming pass over the JSON (no tree of nodes): the whole object is read first, so malformed
 * JSON anywhere in it is reported as such, then the fields are checked in a fixed order.
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

    /** The limits, from app.schemas via app/flink/market_data.py (see {@code TickSource.KEYS}). */
    static final class Rules implements java.io.Serializable {
        private static final long serialVersionUID = 1L;
        String symbolPattern;
        String isoInstantPattern;
        String otherTypes;
        int maxBytes;
        int maxDepth;
        long minEventMs;
        long maxFutureMs;
        double maxPrice;
        long maxSize;
        int maxTradeIdLength;
        int maxSourceLength;
    }

    private final Rules rules;
    private transient JsonFactory json;
    private transient Pattern symbolPattern;
    private transient Pattern isoInstant;
    private transient Set<String> otherTypes;
    private transient Value[] values;

    TickParser(Rules rules) {
        this.rules = rules;
    }

    @Override
    public void open(DeserializationSchema.InitializationContext context) {
        json = new ConfinedJsonFactory();
        json.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        symbolPattern = Pattern.compile(rules.symbolPattern);
        isoInstant = Pattern.compile(rules.isoInstantPattern);
        otherTypes = new HashSet<>(Arrays.asList(rules.otherTypes.split(",")));
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
        return eventMs >= rules.minEventMs && eventMs <= System.currentTimeMillis() + rules.maxFutureMs;
    }

    private GenericRowData parse(byte[] payload) {
        if (payload == null || payload.length == 0) {
            return rejected("empty_message");
        }
        if (payload.length > rules.maxBytes) {
            return rejected("message_too_large");
        }
        if (!Utf8.valid(payload)) {
            return rejected("invalid_utf8");
        }
        if (Utf8.startsWithByteOrderMark(payload)) {
            return rejected("malformed_json");
        }
        try {
            if (!read(payload)) {
                return rejected("not_a_json_object");
            }
        } catch (IOException e) {
            return rejected("malformed_json");
        }
        try {
            Value typeValue = get(Name.TYPE);
            if (typeValue.kind != Kind.ABSENT) {
                if (typeValue.kind != Kind.STRING) {
                    return rejected("wrong_type:type");
                }
                if (otherTypes.contains(typeValue.text)) {
                    // Quotes and bars share the raw topic but are no trade prices: not this job's input.
                    return rejected(SKIPPED_PREFIX + typeValue.text);
                }
                if (!typeValue.text.equals("tick")) {
                    return rejected("unknown_type");
                }
            }
            String symbol = symbol(get(Name.SYMBOL).requiredText("symbol"));
            if (symbol == null || !symbolPattern.matcher(symbol).matches()) {
                return rejected("invalid_symbol");
            }
            long eventMs = get(Name.TIMESTAMP).timestamp(isoInstant);
            if (!plausible(eventMs)) {
                return rejected("timestamp_out_of_range");
            }
            double price = get(Name.PRICE).requiredNumber("price");
            if (!priceInRange(price)) {
                return rejected("price_out_of_range");
            }
            long volume = get(Name.VOLUME).requiredInteger("volume");
            if (volume < 0) {
                return rejected("negative_volume");
            }
            if (volume >= rules.maxSize) {
                return rejected("out_of_range:volume");
            }
            Double bid = optionalPrice(Name.BID, "bid");
            Double ask = optionalPrice(Name.ASK, "ask");
            Long bidSize = optionalSize(Name.BID_SIZE, "bid_size");
            Long askSize = optionalSize(Name.ASK_SIZE, "ask_size");
            Long sequence = get(Name.SEQUENCE).optionalInteger("sequence");
            String tradeId = get(Name.TRADE_ID).tradeId();
            if (tradeId != null && !lengthWithin(tradeId, 1, rules.maxTradeIdLength)) {
                return rejected("out_of_range:trade_id");
            }
            String source = stripWhiteSpace(get(Name.SOURCE).requiredText("source"));
            if (!lengthWithin(source, 1, rules.maxSourceLength)) {
                return rejected("out_of_range:source");
            }
            return GenericRowData.of(StringData.fromString(symbol), eventMs, price, volume, bid, ask, bidSize,
                    askSize, sequence, StringData.fromString(tradeId), StringData.fromString(source), null, null);
        } catch (Invalid e) {
            return rejected(e.getMessage());
        }
    }

    private boolean priceInRange(double price) {
        return price > 0 && price < rules.maxPrice;
    }

    private Double optionalPrice(Name name, String field) throws Invalid {
        Double price = get(name).optionalNumber(field);
        if (price != null && !priceInRange(price)) {
            throw new Invalid("out_of_range:" + field);
        }
        return price;
    }

    private Long optionalSize(Name name, String field) throws Invalid {
        Long size = get(name).optionalInteger(field);
        if (size != null && (size < 0 || size >= rules.maxSize)) {
            throw new Invalid("out_of_range:" + field);
        }
        return size;
    }

    /** app.schemas' Symbol normalisation: JSON whitespace trimmed, ASCII upper-cased; null if not ASCII. */
    private static String symbol(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && " \t\r\n".indexOf(text.charAt(start)) >= 0) {
            start++;
        }
        while (end > start && " \t\r\n".indexOf(text.charAt(end - 1)) >= 0) {
            end--;
        }
        for (int i = start; i < end; i++) {
            if (text.charAt(i) > 0x7f) {
                return null;
            }
        }
        return text.substring(start, end).toUpperCase(Locale.ROOT);
    }

    /** Without leading and trailing Unicode White_Space, as pydantic strips app.schemas' ShortText. */
    private static String stripWhiteSpace(String text) {
        int start = 0;
        int end = text.length();
        while (start < end && whiteSpace(text.charAt(start))) {
            start++;
        }
        while (end > start && whiteSpace(text.charAt(end - 1))) {
            end--;
        }
        return text.substring(start, end);
    }

    /** Unicode's White_Space property (all in the BMP); Java's isWhitespace differs (no U+00A0, U+001C..F). */
    private static boolean whiteSpace(char c) {
        return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f
                || c == 0x3000;
    }

    /** Length in code points, as Python counts a string. */
    private static boolean lengthWithin(String text, int min, int max) {
        int length = text.codePointCount(0, text.length());
        return length >= min && length <= max;
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
                if (name == null || !token.isScalarValue()) {
                    skip(parser, token);
                }
                if (name != null) {
                    values[name.ordinal()].read(parser, token);
                }
            }
            if (parser.currentToken() != JsonToken.END_OBJECT) {
                throw new IOException("unterminated object");
            }
            if (parser.nextToken() != null) {
                throw new IOException("content after the JSON document");
            }
        }
        return true;
    }

    /** Skips a field's value (the parser is at its first token), failing if it nests deeper than maxDepth. */
    private void skip(JsonParser parser, JsonToken first) throws IOException {
        if (!first.isStructStart()) {
            return;
        }
        int depth = 2;  // the record's object is 1
        if (depth > rules.maxDepth) {
            throw new IOException("nested deeper than " + rules.maxDepth);
        }
        while (depth > 1) {
            JsonToken token = parser.nextToken();
            if (token == null) {
                throw new IOException("unterminated value");
            }
            if (token.isStructStart() && ++depth > rules.maxDepth) {
                throw new IOException("nested deeper than " + rules.maxDepth);
            } else if (token.isStructEnd()) {
                depth--;
            }
        }
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

        /** Reads a scalar; a structure (already skipped by the caller) is of kind OTHER. */
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
            // Strict, as app.schemas: 100.0 is a float; an integer beyond 64 bits fits no column.
            throw new Invalid((kind == Kind.BIG_INTEGER ? "out_of_range:" : "wrong_type:") + field);
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

        /** Epoch milliseconds (integer) or an ISO-8601 instant with its zone (app.schemas' pattern). */
        long timestamp(Pattern isoInstant) throws Invalid {
            require("timestamp");
            switch (kind) {
                case INTEGER:
                    return integer;
                case BIG_INTEGER:
                    throw new Invalid("timestamp_out_of_range");
                case STRING:
                    if (!isoInstant.matcher(text).matches()) {
                        throw new Invalid("bad_timestamp");
                    }
                    try {
                        return OffsetDateTime.parse(text).toInstant().toEpochMilli();
                    } catch (DateTimeException e) {
                        throw new Invalid("bad_timestamp");
                    }
                default:
                    throw new Invalid("wrong_type:timestamp");
            }
        }
    }
}
