{{/* The Kubernetes recommended labels; the job's name as app.kubernetes.io/name. */}}
{{- define "flink-jobs.labels" -}}
{{- $root := index . 0 }}{{- $name := index . 1 -}}
app.kubernetes.io/name: {{ $name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: flink-job
app.kubernetes.io/part-of: waardhaven
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end }}

{{/* The restricted Pod Security Standard for a container (the Flink image runs as its flink user). */}}
{{- define "flink-jobs.containerSecurity" -}}
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
runAsNonRoot: true
seccompProfile:
  type: RuntimeDefault
{{- end }}
