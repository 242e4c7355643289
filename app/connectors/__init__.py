"""Connectors: sources into Kafka.

sources.yaml holds every source (adapter, topic, quota, credential variable, options); config.py loads it.
runtime.py runs one source: batches -> producer.py (validation, idempotent producer, dead letter, metrics) ->
cursor.py (resume point). Adapters: synthetic, replay, rest (generic), websocket (generic), polygon, edgar.
"""
