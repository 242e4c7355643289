package com.waardhaven.flink;

import java.io.IOException;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Flink serializer of a symbol's {@link Indicators} in keyed state: their fixed layout of primitives, so
 * neither Kryo nor a POJO analysis is involved, and a checkpoint of it is compact.
 */
public final class IndicatorsSerializer extends TypeSerializerSingleton<Indicators> {
    @Override
    public boolean isImmutableType() {
        return false;
    }

    @Override
    public Indicators createInstance() {
        return new Indicators();
    }

    @Override
    public Indicators copy(Indicators from) {
        return from.copy();
    }

    @Override
    public Indicators copy(Indicators from, Indicators reuse) {
        return from.copy();
    }

    @Override
    public int getLength() {
        return -1;
    }

    @Override
    public void serialize(Indicators indicators, DataOutputView out) throws IOException {
        indicators.write(out);
    }

    @Override
    public Indicators deserialize(DataInputView in) throws IOException {
        return Indicators.read(in);
    }

    @Override
    public Indicators deserialize(Indicators reuse, DataInputView in) throws IOException {
        return Indicators.read(in);
    }

    @Override
    public void copy(DataInputView in, DataOutputView out) throws IOException {
        serialize(deserialize(in), out);
    }

    @Override
    public TypeSerializerSnapshot<Indicators> snapshotConfiguration() {
        return new Snapshot();
    }

    /** Restores the serializer from a checkpoint; it has no parameters, so only its version counts. */
    public static final class Snapshot extends SimpleTypeSerializerSnapshot<Indicators> {
        public Snapshot() {
            super(IndicatorsSerializer::new);
        }
    }
}
