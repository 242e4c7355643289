package com.waardhaven.flink;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonFactory;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.JsonParser;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.core.util.BufferRecycler;

/**
 * A JsonFactory for one function instance, used by one thread (a task's): parsers take their buffers from
 * its own recycler instead of Jackson's thread-local one, whose lookup was ~10% of a parse per record in the
 * task threads' profile. Numbers are parsed with Jackson's fast (still exactly rounded) double parser;
 * NaN and Infinity are read, so that the job can reject them by name rather than as bad JSON.
 */
final class ConfinedJsonFactory extends JsonFactory {
    private final transient BufferRecycler recycler = new BufferRecycler();

    ConfinedJsonFactory() {
        enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);
        enable(JsonParser.Feature.USE_FAST_DOUBLE_PARSER);
    }

    @Override
    public BufferRecycler _getBufferRecycler() {
        return recycler;
    }
}
