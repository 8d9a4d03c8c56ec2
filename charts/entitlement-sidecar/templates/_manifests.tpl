{{/*
The objects the sidecar needs besides the pod, as one multi-document YAML string:
the ServiceAccount (serviceAccount.create), the Role + RoleBinding for kubernetesStatus (rbac.create),
the public key ConfigMap (publicKey.pem), and the metrics Service + ServiceMonitor
(metrics.serviceMonitor.enabled). Render it from one template file of yours:
  {{ include "entitlement-sidecar.manifests" (dict "root" $ "values" (index .Values "entitlement-sidecar")) }}
The metrics Service selects the pods by app.kubernetes.io/name + instance (as `helm create` labels them);
pass "selectorLabels" (a dict) in the argument dict if your pods are labelled otherwise.
*/}}
{{- define "entitlement-sidecar.manifests" -}}
{{- include "entitlement-sidecar.validate" . -}}
{{- $v := .values -}}
{{- if $v.serviceAccount.create }}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "entitlement-sidecar.serviceAccountName" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
  {{- $annotations := deepCopy (default dict $v.serviceAccount.annotations) }}
  {{- with $v.serviceAccount.roleArn }}
  {{- $_ := set $annotations "eks.amazonaws.com/role-arn" . }}
  {{- end }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- if and $v.rbac.create $v.kubernetesStatus.enabled }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ include "entitlement-sidecar.name" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
rules:
  # An Event on the sidecar's own pod for each outcome.
  - apiGroups: [""]
    resources: ["events"]
    verbs: ["create"]
  # The pod condition marketplace.aws/entitled (for readinessGates).
  - apiGroups: [""]
    resources: ["pods/status"]
    verbs: ["patch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ include "entitlement-sidecar.name" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ include "entitlement-sidecar.name" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "entitlement-sidecar.serviceAccountName" . }}
    namespace: {{ .root.Release.Namespace }}
{{- end }}
{{- $k := include "entitlement-sidecar.keyValues" . | fromYaml }}
{{- if and (not $v.bakedIntoImage) $k.pem }}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "entitlement-sidecar.name" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
data:
  {{ $k.key }}: |
    {{- $k.pem | trim | nindent 4 }}
{{- end }}
{{- if $v.metrics.serviceMonitor.enabled }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ include "entitlement-sidecar.name" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
spec:
  type: ClusterIP
  selector:
    {{- if .selectorLabels }}
    {{- toYaml .selectorLabels | nindent 4 }}
    {{- else }}
    {{- include "entitlement-sidecar.selectorLabels" . | nindent 4 }}
    {{- end }}
  ports:
    - name: entitlement
      port: {{ $v.port }}
      targetPort: entitlement
      protocol: TCP
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "entitlement-sidecar.name" . }}
  labels:
    {{- include "entitlement-sidecar.labels" . | nindent 4 }}
    {{- with $v.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- include "entitlement-sidecar.selectorLabels" . | nindent 6 }}
      app.kubernetes.io/component: entitlement-sidecar
  endpoints:
    - port: entitlement
      path: /metrics
      interval: {{ $v.metrics.serviceMonitor.interval }}
{{- end }}
{{- end -}}
