"""Connectors: sources into Kafka.

sources.yaml holds every source (vendor, adapter, topic, quota, credential variable, options); config.py
loads it and check.py checks it. runtime.py runs one source: batches -> producer.py (validation,
idempotent producer, dead letter, metrics) -> cursor.py (resume point). Adapters: rest, websocket and sse
(generic), polygon and edgar (vendor protocols), synthetic and replay. README.md beside this file.
"""
