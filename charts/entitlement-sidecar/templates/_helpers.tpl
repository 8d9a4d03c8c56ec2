{{/*
Calling convention of every template of this library: a dict with
  root   - the calling chart's top-level context ($)
  values - this library's values as the calling chart sees them: (index .Values "entitlement-sidecar"),
           which Helm has already merged with this chart's values.yaml defaults. (Do not alias the
           dependency: `helm lint` does not apply aliases and would lint without those defaults.)
Example: {{ include "entitlement-sidecar.initContainers" (dict "root" $ "values" (index .Values "entitlement-sidecar")) }}
*/}}

{{/* The calling chart's full name, computed as `helm create` does. */}}
{{- define "entitlement-sidecar.rootFullname" -}}
{{- $root := .root -}}
{{- if $root.Values.fullnameOverride -}}
{{- $root.Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default $root.Chart.Name $root.Values.nameOverride -}}
{{- if contains $name $root.Release.Name -}}
{{- $root.Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" $root.Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Name of this library's own objects (ConfigMap, metrics Service, ServiceMonitor). */}}
{{- define "entitlement-sidecar.name" -}}
{{- printf "%s-entitlement" (include "entitlement-sidecar.rootFullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "entitlement-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ default .root.Chart.Name .root.Values.nameOverride | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- end -}}

{{/*
No app.kubernetes.io/managed-by label: of the release's fields, an EKS add-on chart may use only its name
and namespace (AWS's add-on validator refuses the others).
*/}}
{{- define "entitlement-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "entitlement-sidecar.selectorLabels" . }}
app.kubernetes.io/component: entitlement-sidecar
{{- end -}}

{{/* The pod's ServiceAccount name: put it in the pod spec as serviceAccountName. */}}
{{- define "entitlement-sidecar.serviceAccountName" -}}
{{- if .values.serviceAccount.create -}}
{{- default (include "entitlement-sidecar.rootFullname" .) .values.serviceAccount.name -}}
{{- else -}}
{{- .values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "entitlement-sidecar.image" -}}
{{- $img := .values.image -}}
{{- if $img.digest -}}
{{- printf "%s@%s" $img.repository $img.digest -}}
{{- else -}}
{{- printf "%s:%s" $img.repository (toString $img.tag) -}}
{{- end -}}
{{- end -}}

{{/* Seconds in a duration made of whole hours, minutes and seconds ("30m", "1h30m", "90s"). */}}
{{- define "entitlement-sidecar.durationSeconds" -}}
{{- $d := toString . -}}
{{- if or (eq $d "") (not (regexMatch "^([0-9]+h)?([0-9]+m)?([0-9]+s)?$" $d)) -}}
{{- fail (printf "entitlement-sidecar: registerDeadline must be whole hours, minutes and seconds such as 30m, 1h or 90s, got %q" $d) -}}
{{- end -}}
{{- $total := 0 -}}
{{- range regexFindAll "[0-9]+[hms]" $d -1 -}}
{{- $n := regexFind "[0-9]+" . | atoi -}}
{{- if hasSuffix "h" . -}}{{- $total = add $total (mul $n 3600) -}}
{{- else if hasSuffix "m" . -}}{{- $total = add $total (mul $n 60) -}}
{{- else -}}{{- $total = add $total $n -}}
{{- end -}}
{{- end -}}
{{- $total -}}
{{- end -}}

{{/* ENTITLEMENT_LISTEN: host:port, with brackets for an IPv6 host. */}}
{{- define "entitlement-sidecar.listen" -}}
{{- $host := toString .values.listenHost -}}
{{- if contains ":" $host -}}
{{- printf "[%s]:%d" $host (int .values.port) -}}
{{- else -}}
{{- printf "%s:%d" $host (int .values.port) -}}
{{- end -}}
{{- end -}}

{{- define "entitlement-sidecar.entitlementFile" -}}
{{- printf "%s/entitlement.json" (trimSuffix "/" .values.entitlementVolume.mountPath) -}}
{{- end -}}

{{- define "entitlement-sidecar.publicKeyVolumeName" -}}
{{- printf "%s-public-key" .values.entitlementVolume.name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* "true" for a contract product (entitlementSource license-manager). */}}
{{/* The volume of the buyer's license Secret (outside AWS). */}}
{{- define "entitlement-sidecar.licenseSecretVolumeName" -}}marketplace-license-token{{- end -}}

{{- define "entitlement-sidecar.isLicense" -}}
{{- if eq (toString .values.entitlementSource) "license-manager" -}}true{{- end -}}
{{- end -}}

{{/*
The key values of the mode: the product's public key (register-usage) or the license issuer's
(license-manager). A dict, so it is used as `$k := include ... | fromYaml`.
*/}}
{{- define "entitlement-sidecar.keyValues" -}}
{{- if include "entitlement-sidecar.isLicense" . -}}
{{- toYaml .values.license.publicKey -}}
{{- else -}}
{{- toYaml .values.publicKey -}}
{{- end -}}
{{- end -}}

{{/* true when the chart (not the image) supplies the mode's key. */}}
{{- define "entitlement-sidecar.mountsPublicKey" -}}
{{- $k := include "entitlement-sidecar.keyValues" . | fromYaml -}}
{{- if and (not .values.bakedIntoImage) (or $k.pem $k.secretName $k.configMapName) -}}true{{- end -}}
{{- end -}}

{{/* MARKETPLACE_LICENSE_ENTITLEMENTS from license.entitlements: Name:Unit[:Value],... */}}
{{- define "entitlement-sidecar.licenseEntitlements" -}}
{{- $items := list -}}
{{- range .values.license.entitlements -}}
{{- if .value -}}
{{- $items = append $items (printf "%s:%s:%s" .name .unit (toString .value)) -}}
{{- else -}}
{{- $items = append $items (printf "%s:%s" .name .unit) -}}
{{- end -}}
{{- end -}}
{{- join "," $items -}}
{{- end -}}
