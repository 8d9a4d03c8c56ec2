{{/*
The sidecar container (one list item). Use initContainers/containers below rather than this directly:
they pick the form from .values.mode and .values.nativeSidecar.
mode init: a plain init container that runs `register` once (RegisterUsage, verification, the entitlement
file, the pod Event and condition) and exits 0 only when entitled; it serves nothing, so no probes, no
ports and no listen address.
*/}}
{{- define "entitlement-sidecar.container" -}}
{{- include "entitlement-sidecar.validate" . -}}
{{- $v := .values -}}
{{- $init := eq (toString $v.mode) "init" -}}
{{- $deadline := include "entitlement-sidecar.durationSeconds" $v.registerDeadline | int -}}
- name: {{ $v.containerName }}
  image: {{ include "entitlement-sidecar.image" . | quote }}
  imagePullPolicy: {{ $v.image.pullPolicy }}
  {{- if $init }}
  # An init container: the app containers start only once it has exited 0 (= the pod is entitled).
  args: ["register"]
  {{- else }}
  {{- if $v.nativeSidecar }}
  # A native sidecar: started before, and kept running alongside, the app containers, which start
  # only once its startupProbe passes (= the pod is entitled).
  restartPolicy: Always
  {{- end }}
  args: ["run"]
  {{- end }}
  env:
    {{- if not $v.bakedIntoImage }}
    - name: ENTITLEMENT_SOURCE
      value: {{ $v.entitlementSource | quote }}
    {{- if include "entitlement-sidecar.isLicense" . }}
    {{- $l := $v.license }}
    - name: MARKETPLACE_PRODUCT_SKU
      value: {{ $l.productSku | toString | quote }}
    {{- with $l.trustedProductSkus }}
    - name: MARKETPLACE_TRUSTED_PRODUCT_SKUS
      value: {{ join "," . | quote }}
    {{- end }}
    - name: MARKETPLACE_LICENSE_ENTITLEMENTS
      value: {{ include "entitlement-sidecar.licenseEntitlements" . | quote }}
    - name: MARKETPLACE_LICENSE_CHECKOUT_TYPE
      value: {{ $l.checkoutType | quote }}
    {{- if include "entitlement-sidecar.mountsPublicKey" . }}
    - name: MARKETPLACE_LICENSE_PUBLIC_KEY_FILE
      value: {{ printf "%s/%s" (trimSuffix "/" $l.publicKey.mountPath) $l.publicKey.key | quote }}
    {{- end }}
    {{- else }}
    - name: MARKETPLACE_PRODUCT_CODE
      value: {{ $v.productCode | toString | quote }}
    - name: MARKETPLACE_PUBLIC_KEY_VERSION
      value: {{ $v.publicKeyVersion | toString | quote }}
    - name: MARKETPLACE_PUBLIC_KEY_FILE
      value: {{ printf "%s/%s" (trimSuffix "/" $v.publicKey.mountPath) $v.publicKey.key | quote }}
    {{- with $v.trustedProductCodes }}
    - name: MARKETPLACE_TRUSTED_PRODUCT_CODES
      value: {{ join "," . | quote }}
    {{- end }}
    {{- end }}
    {{- end }}
    {{- if include "entitlement-sidecar.isLicense" . }}
    - name: ENTITLEMENT_LICENSE_CHECK_INTERVAL
      value: {{ $v.license.checkInterval | toString | quote }}
    - name: ENTITLEMENT_LICENSE_GRACE
      value: {{ $v.license.grace | toString | quote }}
    {{- end }}
    - name: ENTITLEMENT_FILE
      value: {{ include "entitlement-sidecar.entitlementFile" . | quote }}
    {{- if not $init }}
    - name: ENTITLEMENT_LISTEN
      value: {{ include "entitlement-sidecar.listen" . | quote }}
    {{- end }}
    - name: ENTITLEMENT_REGISTER_DEADLINE
      value: {{ $v.registerDeadline | toString | quote }}
    - name: LOG_LEVEL
      value: {{ $v.logLevel | quote }}
    {{- with $v.usage.dimensions }}
    - name: MARKETPLACE_USAGE_DIMENSIONS
      value: {{ join "," . | quote }}
    - name: ENTITLEMENT_USAGE_LISTEN
      value: {{ printf "127.0.0.1:%d" (int $v.usage.port) | quote }}
    {{- end }}
    - name: ENTITLEMENT_KUBERNETES_STATUS
      value: {{ ternary "auto" "off" (not (not $v.kubernetesStatus.enabled)) | quote }}
    {{- $anywhere := and (include "entitlement-sidecar.isLicense" .) $v.license.licenseSecret.enabled }}
    {{- with ($v.aws.region | default (ternary "us-east-1" "" (not (not $anywhere)))) }}
    - name: AWS_REGION
      value: {{ . | quote }}
    {{- end }}
    {{- if $anywhere }}
    - name: ENTITLEMENT_LICENSE_TOKEN_DIR
      value: {{ $v.license.licenseSecret.mountPath | quote }}
    {{- end }}
    {{- with $v.aws.stsEndpointUrl }}
    - name: AWS_ENDPOINT_URL_STS
      value: {{ . | quote }}
    {{- end }}
    {{- with $v.aws.endpointUrl }}
    - name: AWS_ENDPOINT_URL_MARKETPLACE_METERING
      value: {{ . | quote }}
    {{- end }}
    {{- with $v.aws.licenseManagerEndpointUrl }}
    - name: AWS_ENDPOINT_URL_LICENSE_MANAGER
      value: {{ . | quote }}
    {{- end }}
    - name: POD_NAME
      valueFrom:
        fieldRef:
          fieldPath: metadata.name
    - name: POD_NAMESPACE
      valueFrom:
        fieldRef:
          fieldPath: metadata.namespace
    - name: POD_UID
      valueFrom:
        fieldRef:
          fieldPath: metadata.uid
    {{- with $v.extraEnv }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- if not $init }}
  ports:
    - name: entitlement
      containerPort: {{ $v.port }}
      protocol: TCP
  {{- if $v.nativeSidecar }}
  startupProbe:
    httpGet:
      path: /healthz
      port: {{ $v.port }}
    periodSeconds: {{ $v.startupProbe.periodSeconds }}
    timeoutSeconds: {{ $v.startupProbe.timeoutSeconds }}
    # registerDeadline ({{ $deadline }}s) plus a minute, unless set explicitly.
    failureThreshold: {{ $v.startupProbe.failureThreshold | default (div (add $deadline 60 (sub $v.startupProbe.periodSeconds 1)) $v.startupProbe.periodSeconds) }}
  {{- end }}
  readinessProbe:
    httpGet:
      path: /healthz
      port: {{ $v.port }}
    periodSeconds: {{ $v.readinessProbe.periodSeconds }}
    timeoutSeconds: {{ $v.readinessProbe.timeoutSeconds }}
    failureThreshold: {{ $v.readinessProbe.failureThreshold }}
  livenessProbe:
    httpGet:
      path: /livez
      port: {{ $v.port }}
    periodSeconds: {{ $v.livenessProbe.periodSeconds }}
    timeoutSeconds: {{ $v.livenessProbe.timeoutSeconds }}
    failureThreshold: {{ $v.livenessProbe.failureThreshold }}
  {{- end }}
  {{- with $v.resources }}
  resources:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $v.securityContext }}
  securityContext:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  volumeMounts:
    - name: {{ $v.entitlementVolume.name }}
      mountPath: {{ $v.entitlementVolume.mountPath }}
    {{- if include "entitlement-sidecar.mountsPublicKey" . }}
    - name: {{ include "entitlement-sidecar.publicKeyVolumeName" . }}
      mountPath: {{ (include "entitlement-sidecar.keyValues" . | fromYaml).mountPath }}
      readOnly: true
    {{- end }}
    {{- if and (include "entitlement-sidecar.isLicense" .) $v.license.licenseSecret.enabled }}
    - name: {{ include "entitlement-sidecar.licenseSecretVolumeName" . }}
      mountPath: {{ $v.license.licenseSecret.mountPath }}
      readOnly: true
    {{- end }}
  terminationMessagePolicy: FallbackToLogsOnError
{{- end -}}

{{/*
Items for the pod's initContainers list: the native sidecar, the init container (mode init), or nothing
for the classic sidecar. Put it first, so your own init containers run only once the pod is entitled:
  initContainers:
    {{- include "entitlement-sidecar.initContainers" (dict "root" $ "values" (index .Values "entitlement-sidecar")) | nindent 4 }}
*/}}
{{- define "entitlement-sidecar.initContainers" -}}
{{- if or .values.nativeSidecar (eq (toString .values.mode) "init") -}}
{{- include "entitlement-sidecar.container" . -}}
{{- else -}}
{{- include "entitlement-sidecar.validate" . -}}
{{- end -}}
{{- end -}}

{{/* Items for the pod's containers list: the classic sidecar, or nothing (native sidecar, mode init). */}}
{{- define "entitlement-sidecar.containers" -}}
{{- if and (not .values.nativeSidecar) (ne (toString .values.mode) "init") -}}
{{- include "entitlement-sidecar.container" . -}}
{{- else -}}
{{- include "entitlement-sidecar.validate" . -}}
{{- end -}}
{{- end -}}
