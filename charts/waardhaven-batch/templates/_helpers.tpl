{{/* The Kubernetes recommended labels of every object of this chart; component given per object. */}}
{{- define "waardhaven-batch.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: waardhaven
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The restricted Pod Security Standard as the image's spark user. Spark writes its work and scratch
     directories inside the image, so the root filesystem stays writable. */}}
{{- define "waardhaven-batch.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.runAsUser }}
runAsGroup: {{ .Values.runAsUser }}
fsGroup: {{ .Values.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "waardhaven-batch.containerSecurity" -}}
allowPrivilegeEscalation: false
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* A Spark pod's placement, identity and security (the driver's and the executors' alike). */}}
{{- define "waardhaven-batch.pod" -}}
serviceAccount: {{ .Values.serviceAccount }}
nodeSelector:
  {{- toYaml .Values.placement.nodeSelector | nindent 2 }}
tolerations:
  {{- toYaml .Values.placement.tolerations | nindent 2 }}
podSecurityContext:
  {{- include "waardhaven-batch.podSecurity" . | nindent 2 }}
securityContext:
  {{- include "waardhaven-batch.containerSecurity" . | nindent 2 }}
{{- end }}

{{/* How the driver (and the test) reach the database: the DSN, the application user from CloudNativePG's
     Secret, the cluster's CA. */}}
{{- define "waardhaven-batch.databaseEnv" -}}
- name: AWS_REGION
  value: {{ .Values.region | quote }}
- name: WH_DATABASE_DSN
  value: {{ .Values.database.dsn | quote }}
- name: PGUSER
  valueFrom:
    secretKeyRef: {name: {{ .Values.database.appSecret }}, key: username}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.database.appSecret }}, key: password}
{{- end }}
{{- define "waardhaven-batch.databaseVolume" -}}
- name: database-ca
  secret:
    secretName: {{ .Values.database.caSecret }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
{{- define "waardhaven-batch.databaseMount" -}}
- name: database-ca
  mountPath: {{ .Values.database.caDir }}
  readOnly: true
{{- end }}
