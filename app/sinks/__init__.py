"""Sinks: records out of Kafka into storage.

loads.py says which topic goes to which table and lake dataset; timescale.py loads a topic into its table
(app/schemas/tables.py gives the rows) and lake.py writes the same batches under lake_layout.py's
partitions; offsets.py reads topic and consumer-group positions for both; command.py is `wh load`.
"""
