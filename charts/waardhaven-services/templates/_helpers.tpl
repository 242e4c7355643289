{{/* The Kubernetes recommended labels; the service's name as app.kubernetes.io/name. */}}
{{- define "waardhaven-services.labels" -}}
{{- $root := index . 0 }}{{- $name := index . 1 }}{{- $component := index . 2 -}}
app.kubernetes.io/name: {{ $name }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/component: {{ $component }}
app.kubernetes.io/part-of: waardhaven
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version }}
{{- end }}

{{- define "waardhaven-services.selector" -}}
app.kubernetes.io/name: {{ index . 1 }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
{{- end }}

{{/* The restricted Pod Security Standard: a pod's context, then a container's. */}}
{{- define "waardhaven-services.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
fsGroup: {{ .Values.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "waardhaven-services.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* What every service's container has: the image (python -m app.serve), its metrics on the pod's address
     (probed there too), Kafka's TLS settings with the service's KafkaUser certificate, and a writable /tmp. */}}
{{- define "waardhaven-services.container" -}}
{{- $root := index . 0 }}{{- $resources := index . 1 -}}
image: "{{ $root.Values.image.repository }}@{{ $root.Values.image.digest }}"
imagePullPolicy: IfNotPresent
ports:
  - name: metrics
    containerPort: {{ $root.Values.metricsPort }}
livenessProbe:
  httpGet: {path: /metrics, port: metrics}
  initialDelaySeconds: 10
  periodSeconds: 20
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /metrics, port: metrics}
  periodSeconds: 10
resources:
  {{- toYaml $resources | nindent 2 }}
securityContext:
  {{- include "waardhaven-services.containerSecurity" $root | nindent 2 }}
{{- end }}

{{- define "waardhaven-services.serveArgs" -}}
- --metrics-host
- $(POD_IP)
- --metrics-port
- {{ .Values.metricsPort | quote }}
{{- end }}

{{- define "waardhaven-services.env" -}}
- name: POD_IP
  valueFrom:
    fieldRef: {fieldPath: status.podIP}
- name: AWS_REGION
  value: {{ .Values.region | quote }}
{{- range $variable, $value := .Values.kafka.environment }}
- name: {{ $variable }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}

{{- define "waardhaven-services.mounts" -}}
- name: tmp
  mountPath: /tmp
- name: kafka-cluster-ca
  mountPath: {{ .Values.kafka.caDir }}
  readOnly: true
- name: kafka-user
  mountPath: {{ .Values.kafka.userDir }}
  readOnly: true
{{- end }}

{{- define "waardhaven-services.volumes" -}}
{{- $root := index . 0 }}{{- $user := index . 1 -}}
- name: tmp
  emptyDir: {}
- name: kafka-cluster-ca
  secret:
    secretName: {{ $root.Values.kafka.caSecret }}
- name: kafka-user
  secret:
    secretName: {{ $user }}
{{- end }}

{{- define "waardhaven-services.pdb" -}}
{{- $root := index . 0 }}{{- $name := index . 1 }}{{- $component := index . 2 -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $name }}
  labels:
    {{- include "waardhaven-services.labels" . | nindent 4 }}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
      {{- include "waardhaven-services.selector" (list $root $name) | nindent 6 }}
{{- end }}
