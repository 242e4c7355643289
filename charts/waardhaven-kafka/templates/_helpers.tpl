{{/* The Kubernetes recommended labels of every object of this chart; component given per object. */}}
{{- define "waardhaven-kafka.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: waardhaven
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Labels of a resource the Strimzi operators reconcile for the cluster. */}}
{{- define "waardhaven-kafka.clusterLabels" -}}
{{ include "waardhaven-kafka.labels" . }}
strimzi.io/cluster: {{ .Values.cluster }}
{{- end }}

{{/* A node pool's persistent volumes: JBOD of `volumes` gp3 claims. */}}
{{- define "waardhaven-kafka.storage" -}}
{{- $pool := index . 0 }}{{- $root := index . 1 -}}
type: jbod
volumes:
{{- range $id := until (int $pool.volumes) }}
  - id: {{ $id }}
    type: persistent-claim
    size: {{ printf "%dGi" (int $pool.volumeGib) }}
    class: {{ $root.Values.storageClass }}
    deleteClaim: {{ $root.Values.deleteClaim }}
    {{- if eq $id 0 }}
    kraftMetadata: shared
    {{- end }}
{{- end }}
{{- end }}
