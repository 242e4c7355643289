package com.waardhaven.flink;

import java.io.IOException;

import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.data.GenericRowData;
import org.apache.flink.table.data.RowData;
import org.apache.flink.table.types.logical.LogicalType;
import org.apache.flink.table.types.logical.RowType;
import org.apache.flink.table.types.logical.VarBinaryType;
import org.apache.flink.table.types.logical.VarCharType;

/** An enriched tick as its market-data-processed record: (symbol, its {@link RowJson}). */
public class ProcessedJson extends RichMapFunction<RowData, RowData> {
    /** (symbol, value): the sink's key and value columns. */
    static final RowType OUTPUT = RowType.of(
            new LogicalType[] {new VarCharType(false, VarCharType.MAX_LENGTH),
                new VarBinaryType(false, VarBinaryType.MAX_LENGTH)},
            new String[] {"symbol", "value"});

    private final int symbol;
    private final RowJson json;

    public ProcessedJson(RowType rowType, String pipelineVersion) {
        symbol = rowType.getFieldIndex("symbol");
        json = new RowJson(rowType, pipelineVersion);
    }

    @Override
    public void open(Configuration parameters) throws IOException {
        json.open();
    }

    @Override
    public RowData map(RowData row) throws IOException {
        return GenericRowData.of(row.getString(symbol), json.write(row));
    }
}
