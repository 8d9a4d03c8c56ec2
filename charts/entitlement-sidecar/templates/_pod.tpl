{{/* Items for the pod's volumes list: the shared entitlement emptyDir and, if any, the public key. */}}
{{- define "entitlement-sidecar.volumes" -}}
{{- include "entitlement-sidecar.validate" . -}}
{{- $v := .values -}}
- name: {{ $v.entitlementVolume.name }}
  # Lives as long as the pod: the entitlement file, and a recorded denial that a restarted sidecar
  # must honour (AWS reports a denial only on the first RegisterUsage call of a pod).
  emptyDir:
    {{- with $v.entitlementVolume.medium }}
    medium: {{ . }}
    {{- end }}
    {{- with $v.entitlementVolume.sizeLimit }}
    sizeLimit: {{ . }}
    {{- end }}
{{- if include "entitlement-sidecar.mountsPublicKey" . }}
- name: {{ include "entitlement-sidecar.publicKeyVolumeName" . }}
  {{- if $v.publicKey.secretName }}
  secret:
    secretName: {{ $v.publicKey.secretName }}
    items:
      - key: {{ $v.publicKey.key }}
        path: {{ $v.publicKey.key }}
  {{- else }}
  configMap:
    name: {{ default (include "entitlement-sidecar.name" .) $v.publicKey.configMapName }}
    items:
      - key: {{ $v.publicKey.key }}
        path: {{ $v.publicKey.key }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Items for an app container's volumeMounts: the entitlement volume, read-only. */}}
{{- define "entitlement-sidecar.appVolumeMounts" -}}
- name: {{ .values.entitlementVolume.name }}
  mountPath: {{ .values.entitlementVolume.mountPath }}
  readOnly: true
{{- end -}}

{{/* Items for an app container's env: where to read the entitlement, and the sidecar's /healthz. */}}
{{- define "entitlement-sidecar.appEnv" -}}
- name: ENTITLEMENT_FILE
  value: {{ include "entitlement-sidecar.entitlementFile" . | quote }}
- name: ENTITLEMENT_HEALTH_URL
  value: {{ printf "http://127.0.0.1:%d/healthz" (int .values.port) | quote }}
{{- if .values.usage.dimensions }}
- name: ENTITLEMENT_USAGE_URL
  value: {{ printf "http://127.0.0.1:%d/v1/usage" (int .values.usage.port) | quote }}
{{- end }}
{{- end -}}

{{/* Entries for the pod's annotations: Prometheus scraping of the sidecar (metrics.enabled). */}}
{{- define "entitlement-sidecar.podAnnotations" -}}
{{- if .values.metrics.enabled -}}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .values.port | toString | quote }}
prometheus.io/path: /metrics
{{- end -}}
{{- end -}}

{{/*
A pod securityContext that suits the sidecar: non-root, RuntimeDefault seccomp, and fsGroup 65532 so
the projected IRSA token is readable by the sidecar's uid on every Kubernetes version.
*/}}
{{- define "entitlement-sidecar.podSecurityContext" -}}
runAsNonRoot: true
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Items for the pod's readinessGates (kubernetesStatus.readinessGate): the sidecar's own pod condition. */}}
{{- define "entitlement-sidecar.readinessGates" -}}
{{- if .values.kubernetesStatus.readinessGate -}}
- conditionType: marketplace.aws/entitled
{{- end -}}
{{- end -}}
