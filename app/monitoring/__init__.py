"""Monitoring as code: the Prometheus rules (recording and alerting) and the Grafana dashboards of the
pipeline, rendered into charts/waardhaven-monitoring (`python -m app.monitoring.chart`), and the S3 cost
model of the lake (`wh cost`)."""
