{{/* The Kubernetes recommended labels of every object of this chart; component given per object. */}}
{{- define "waardhaven-database.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: waardhaven
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* An image by digest: repository@sha256:... */}}
{{- define "waardhaven-database.image" -}}
{{ .repository }}@{{ .digest }}
{{- end }}

{{/* The restricted Pod Security Standard for a pod (as the migrations image's user) and its containers. */}}
{{- define "waardhaven-database.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .Values.migrations.runAsUser }}
runAsGroup: {{ .Values.migrations.runAsUser }}
seccompProfile:
  type: RuntimeDefault
{{- end }}
{{- define "waardhaven-database.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* A client of the primary: its TLS CA mounted at database.caDir, the DSN and the application user's
     credentials (PGUSER, PGPASSWORD from CloudNativePG's Secret) in its environment. */}}
{{- define "waardhaven-database.clientEnv" -}}
- name: WH_DATABASE_DSN
  value: {{ .Values.client.dsn | quote }}
- name: PGUSER
  valueFrom:
    secretKeyRef: {name: {{ .Values.client.appSecret }}, key: username}
- name: PGPASSWORD
  valueFrom:
    secretKeyRef: {name: {{ .Values.client.appSecret }}, key: password}
{{- end }}
{{- define "waardhaven-database.caVolume" -}}
- name: database-ca
  secret:
    secretName: {{ .Values.client.caSecret }}
    items: [{key: ca.crt, path: ca.crt}]
{{- end }}
