{{/* Bytes of a Kubernetes quantity such as 10Mi, 9437184 or 16M; 0 when it is of another form (not checked). */}}
{{- define "entitlement-sidecar.quantityBytes" -}}
{{- $q := toString . -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "k" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 -}}
{{- if regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$" $q -}}
{{- mul (regexFind "^[0-9]+" $q | atoi) (get $units (regexReplaceAll "^[0-9]+" $q "")) -}}
{{- else -}}0{{- end -}}
{{- end -}}

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
{{- $k := include "entitlement-sidecar.keyValues" . | fromYaml }}
- name: {{ include "entitlement-sidecar.publicKeyVolumeName" . }}
  {{- if $k.secretName }}
  secret:
    secretName: {{ $k.secretName }}
    items:
      - key: {{ $k.key }}
        path: {{ $k.key }}
  {{- else }}
  configMap:
    name: {{ default (include "entitlement-sidecar.name" .) $k.configMapName }}
    items:
      - key: {{ $k.key }}
        path: {{ $k.key }}
  {{- end }}
{{- end }}
{{- if and (include "entitlement-sidecar.isLicense" .) $v.license.licenseSecret.enabled }}
- name: {{ include "entitlement-sidecar.licenseSecretVolumeName" . }}
  # The buyer's license token and role, outside AWS: mounted into the sidecar only. Group-readable for
  # the pod's fsGroup (65532), the sidecar's uid's group; no one else.
  secret:
    secretName: {{ $v.license.licenseSecret.name }}
    # 288 is 0440 (octal): written in decimal, as YAML 1.1 and 1.2 read a leading 0 differently.
    defaultMode: 288
    items:
      - key: license_token
        path: license_token
      - key: iam_role
        path: iam_role
{{- end }}
{{- end -}}

{{/* Items for an app container's volumeMounts: the entitlement volume, read-only. */}}
{{- define "entitlement-sidecar.appVolumeMounts" -}}
- name: {{ .values.entitlementVolume.name }}
  mountPath: {{ .values.entitlementVolume.mountPath }}
  readOnly: true
{{- end -}}

{{/*
Items for an app container's env: where to read the entitlement, and the sidecar's /healthz (not in mode
init: nothing serves it once the init container has exited; the app reads the file).
*/}}
{{- define "entitlement-sidecar.appEnv" -}}
- name: ENTITLEMENT_FILE
  value: {{ include "entitlement-sidecar.entitlementFile" . | quote }}
{{- if ne (toString .values.mode) "init" }}
- name: ENTITLEMENT_HEALTH_URL
  value: {{ printf "http://127.0.0.1:%d/healthz" (int .values.port) | quote }}
{{- end }}
{{- if .values.usage.dimensions }}
- name: ENTITLEMENT_USAGE_URL
  value: {{ printf "http://127.0.0.1:%d/v1/usage" (int .values.usage.port) | quote }}
{{- end }}
{{- end -}}

{{/* Entries for the pod's annotations: Prometheus scraping of the sidecar (metrics.enabled). */}}
{{- define "entitlement-sidecar.podAnnotations" -}}
{{- /* mode init serves no /metrics: nothing to scrape. */ -}}
{{- if and .values.metrics.enabled (ne (toString .values.mode) "init") -}}
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
