package com.waardhaven.flink;

import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonGenerator;
import org.apache.flink.table.functions.FunctionContext;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * dead_letter_envelope(reason, source, topic, raw, raw_limit): the app.schemas.deadletter envelope of a rejected
 * record as JSON text. Size and hash describe the raw bytes as they came off the topic (invalid UTF-8
 * included); only the {@code raw} excerpt (the first raw_limit bytes) is decoded, with replacement characters.
 */
public class DeadLetterEnvelope extends ScalarFunction {
    private transient JsonFactory json;
    private transient MessageDigest sha256;

    @Override
    public void open(FunctionContext context) throws NoSuchAlgorithmException {
        json = new JsonFactory();
        sha256 = MessageDigest.getInstance("SHA-256");
    }

    /** It reads the clock (received_at): the planner must not fold it. */
    @Override
    public boolean isDeterministic() {
        return false;
    }

    public String eval(String reason, String source, String topic, byte[] raw, int rawLimit) throws IOException {
        byte[] bytes = raw == null ? new byte[0] : raw;
        StringWriter out = new StringWriter(Math.min(bytes.length, rawLimit) + 256);
        try (JsonGenerator writer = json.createGenerator(out)) {
            writer.writeStartObject();
            writer.writeStringField("reason", reason);
            writer.writeStringField("source", source);
            writer.writeStringField("topic", topic);
            writer.writeNumberField("received_at", System.currentTimeMillis());
            writer.writeNumberField("raw_bytes", bytes.length);
            writer.writeStringField("raw_sha256", hex(sha256.digest(bytes)));
            writer.writeStringField("raw", new String(bytes, 0, Math.min(bytes.length, rawLimit),
                    StandardCharsets.UTF_8));
            writer.writeBooleanField("raw_truncated", bytes.length > rawLimit);
            writer.writeEndObject();
        }
        return out.toString();
    }

    private static String hex(byte[] digest) {
        StringBuilder text = new StringBuilder(2 * digest.length);
        for (byte b : digest) {
            text.append(Character.forDigit((b >> 4) & 0xf, 16)).append(Character.forDigit(b & 0xf, 16));
        }
        return text.toString();
    }
}
