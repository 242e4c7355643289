package com.waardhaven.flink;

import java.io.IOException;
import java.util.ArrayList;

import org.apache.flink.api.common.typeutils.SimpleTypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.api.common.typeutils.base.TypeSerializerSingleton;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;
import org.apache.flink.table.data.binary.BinaryRowData;
import org.apache.flink.table.runtime.typeutils.BinaryRowDataSerializer;

/**
 * All SymbolIndicators keeps for one symbol, as one keyed-state value: its indicators and its ticks not yet
 * emitted (ahead of the watermark), in event-time order, ties in arrival order.
 */
public final class SymbolState {
    final Indicators indicators;
    final ArrayList<BinaryRowData> pending;

    SymbolState() {
        this(new Indicators(), new ArrayList<>());
    }

    private SymbolState(Indicators indicators, ArrayList<BinaryRowData> pending) {
        this.indicators = indicators;
        this.pending = pending;
    }

    /** Inserts a tick after every pending one with a timestamp <= its own; returns its position. */
    int insert(BinaryRowData tick, long eventMs, int eventMsField) {
        int at = pending.size();
        while (at > 0 && pending.get(at - 1).getLong(eventMsField) > eventMs) {
            at--;
        }
        pending.add(at, tick);
        return at;
    }

    /**
     * Flink serializer of the state: a fixed layout of primitives and the pending rows' binary form, so
     * neither Kryo nor a POJO analysis is involved, and a checkpoint of it is compact.
     */
    public static final class Serializer extends TypeSerializerSingleton<SymbolState> {
        @Override
        public boolean isImmutableType() {
            return false;
        }

        @Override
        public SymbolState createInstance() {
            return new SymbolState();
        }

        @Override
        public SymbolState copy(SymbolState from) {
            ArrayList<BinaryRowData> rows = new ArrayList<>(from.pending.size());
            for (BinaryRowData row : from.pending) {
                rows.add(row.copy());
            }
            return new SymbolState(from.indicators.copy(), rows);
        }

        @Override
        public SymbolState copy(SymbolState from, SymbolState reuse) {
            return copy(from);
        }

        @Override
        public int getLength() {
            return -1;
        }

        @Override
        public void serialize(SymbolState state, DataOutputView out) throws IOException {
            state.indicators.write(out);
            out.writeInt(state.pending.size());
            for (BinaryRowData row : state.pending) {
                out.writeInt(row.getArity());
                new BinaryRowDataSerializer(row.getArity()).serialize(row, out);
            }
        }

        @Override
        public SymbolState deserialize(DataInputView in) throws IOException {
            Indicators indicators = Indicators.read(in);
            int n = in.readInt();
            ArrayList<BinaryRowData> rows = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                rows.add(new BinaryRowDataSerializer(in.readInt()).deserialize(in));
            }
            return new SymbolState(indicators, rows);
        }

        @Override
        public SymbolState deserialize(SymbolState reuse, DataInputView in) throws IOException {
            return deserialize(in);
        }

        @Override
        public void copy(DataInputView in, DataOutputView out) throws IOException {
            serialize(deserialize(in), out);
        }

        @Override
        public TypeSerializerSnapshot<SymbolState> snapshotConfiguration() {
            return new Snapshot();
        }

        /** Restores the serializer from a checkpoint; it has no parameters, so only its version counts. */
        public static final class Snapshot extends SimpleTypeSerializerSnapshot<SymbolState> {
            public Snapshot() {
                super(Serializer::new);
            }
        }
    }
}
