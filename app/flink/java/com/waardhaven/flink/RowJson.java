package com.waardhaven.flink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.Serializable;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.util.EnumSet;
import java.util.Set;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactoryBuilder;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonGenerator;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.StreamWriteFeature;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.io.SerializedString;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.LogicalTypeRoot;
import org.apache.flink.table.types.logical.RowType;

/**
 * A row as a JSON object in bytes: its fields in order (NULLs left out), then {@code processed_at}
 * (ISO-8601, UTC) and {@code pipeline_version}. That is what Flink's JSON format wrote for the processed
 * sink, minus its per-row tree of nodes. Made in a function's constructor, opened in its open().
 */
final class RowJson implements Serializable {
    private static final long serialVersionUID = 1L;
    private static final Set<LogicalTypeRoot> ENCODED =
            EnumSet.of(LogicalTypeRoot.VARCHAR, LogicalTypeRoot.BIGINT, LogicalTypeRoot.DOUBLE);
    /** As Flink's JSON format writes TIMESTAMP_LTZ ('ISO-8601'): fraction digits only as needed. */
    private static final DateTimeFormatter PROCESSED_AT = new DateTimeFormatterBuilder()
            .append(DateTimeFormatter.ISO_LOCAL_DATE_TIME)
            .appendLiteral('Z')
            .toFormatter();

    private static final SerializedString PROCESSED_AT_NAME = new SerializedString("processed_at");
    private static final SerializedString PIPELINE_VERSION_NAME = new SerializedString("pipeline_version");

    private final String[] names;
    private final LogicalTypeRoot[] types;
    private final String pipelineVersion;
    private transient SerializedString[] fieldNames;
    private transient SerializedString version;
    private transient ByteArrayOutputStream buffer;
    private transient JsonGenerator json;
    private transient long stampMs;
    private transient SerializedString stamp;

    RowJson(RowType rowType, String pipelineVersion) {
        names = rowType.getFieldNames().toArray(new String[0]);
        types = rowType.getChildren().stream().map(LogicalType::getTypeRoot).toArray(LogicalTypeRoot[]::new);
        for (int i = 0; i < names.length; i++) {
            if (!ENCODED.contains(types[i])) {
                throw new IllegalArgumentException("no JSON encoding for " + names[i] + " " + types[i]);
            }
        }
        this.pipelineVersion = pipelineVersion;
    }

    void open() throws IOException {
        // Names encoded once, not escaped and encoded per record.
        fieldNames = new SerializedString[names.length];
        for (int i = 0; i < names.length; i++) {
            fieldNames[i] = new SerializedString(names[i]);
        }
        version = new SerializedString(pipelineVersion);
        buffer = new ByteArrayOutputStream(512);
        // One generator for every record: no separator between its root values, each one is a whole record.
        // The fast double writer (Schubfach) gives the shortest text that reads back as the same double.
        json = new JsonFactoryBuilder()
                .rootValueSeparator((String) null)
                .enable(StreamWriteFeature.USE_FAST_DOUBLE_WRITER)
                .build()
                .createGenerator(buffer);
        stampMs = Long.MIN_VALUE;
    }

    /** The row's JSON; a new array (the sink keeps it until sent). */
    byte[] write(RowData row) throws IOException {
        buffer.reset();
        json.writeStartObject();
        for (int i = 0; i < names.length; i++) {
            if (row.isNullAt(i)) {
                continue;
            }
            json.writeFieldName(fieldNames[i]);
            switch (types[i]) {
                case VARCHAR:
                    // Flink's strings are UTF-8 already: written (and escaped) from their bytes.
                    byte[] text = row.getString(i).toBytes();
                    json.writeUTF8String(text, 0, text.length);
                    break;
                case BIGINT:
                    json.writeNumber(row.getLong(i));
                    break;
                default:
                    json.writeNumber(row.getDouble(i));
            }
        }
        json.writeFieldName(PROCESSED_AT_NAME);
        json.writeString(processedAt(System.currentTimeMillis()));
        json.writeFieldName(PIPELINE_VERSION_NAME);
        json.writeString(version);
        json.writeEndObject();
        json.flush();
        return buffer.toByteArray();
    }

    private SerializedString processedAt(long nowMs) {
        if (nowMs != stampMs) {
            stampMs = nowMs;
            stamp = new SerializedString(
                    PROCESSED_AT.format(LocalDateTime.ofInstant(Instant.ofEpochMilli(nowMs), ZoneOffset.UTC)));
        }
        return stamp;
    }
}
