{{/*
The chart's objects are named nativeip whatever the release is called: one nativeip per cluster
(one daemon per node, one cluster-scoped CRD and policy set).
*/}}
{{- define "nativeip.name" -}}
nativeip
{{- end }}

{{- define "nativeip.serviceAccountName" -}}
nativeip
{{- end }}

{{/* The labels the manifests use, and the pods' selector: app.kubernetes.io/name=nativeip. */}}
{{- define "nativeip.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nativeip.name" . }}
{{- end }}

{{/* Every object's labels: the selector's and Helm's usual ones. */}}
{{- define "nativeip.labels" -}}
{{ include "nativeip.selectorLabels" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "nativeip.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
One env value as the string the container gets: YAML numbers come from Helm as float64, which
would print as 2.147483e+06, so whole numbers are printed as integers; booleans as true/false.
*/}}
{{- define "nativeip.envValue" -}}
{{- if kindIs "float64" . -}}
{{ . | int64 | toString }}
{{- else -}}
{{ . | toString }}
{{- end -}}
{{- end }}
