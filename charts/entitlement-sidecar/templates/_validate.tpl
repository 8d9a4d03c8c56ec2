{{/*
Fails the render on combinations that cannot work, each with a message naming the values and what is
allowed. Every other template of this library calls it, so a product chart cannot skip it.
Only rules values.schema.json cannot say live here: the format of each single value (patterns, enums,
ranges) is in the schema, generated from values.yaml's annotations. Three are single-value rules all the
same: image.repository (the library's own default is empty, and its defaults must pass `helm lint`),
registerDeadline's range (arithmetic on a duration) and extraEnv's reserved names (a schema could refuse
them only with `not`, whose message names neither the variable nor the reason).
*/}}
{{- define "entitlement-sidecar.validate" -}}
{{- $v := .values -}}
{{- $p := "entitlement-sidecar" -}}
{{- if not $v.image.repository -}}
{{- fail (printf "%s: image.repository is required. AWS Marketplace needs every image of the product in your seller ECR repository (709825985650.dkr.ecr.us-east-1.amazonaws.com/<seller>/...): push the sidecar image there" $p) -}}
{{- end -}}
{{- $license := include "entitlement-sidecar.isLicense" . -}}
{{- if eq (toString $v.mode) "init" -}}
{{- $once := "mode init runs the sidecar once, before the app, and exits" -}}
{{- if $license -}}
{{- fail (printf "%s: %s, so entitlementSource must be register-usage: license-manager holds a seat and re-checks the license while the pod runs, which needs mode: sidecar" $p $once) -}}
{{- end -}}
{{- if $v.usage.dimensions -}}
{{- fail (printf "%s: %s, so usage.dimensions must be empty: usage metering needs the running sidecar (mode: sidecar)" $p $once) -}}
{{- end -}}
{{- if $v.metrics.serviceMonitor.enabled -}}
{{- fail (printf "%s: %s and serves no /metrics, so metrics.serviceMonitor.enabled must be false (or use mode: sidecar)" $p $once) -}}
{{- end -}}
{{- end -}}
{{- $l := $v.license -}}
{{- /* What each mode must leave empty: the other mode's product values. */ -}}
{{- $foreign := list -}}
{{- if $license -}}
{{- if $v.productCode -}}{{- $foreign = append $foreign "productCode" -}}{{- end -}}
{{- if $v.trustedProductCodes -}}{{- $foreign = append $foreign "trustedProductCodes" -}}{{- end -}}
{{- if or $v.publicKey.pem $v.publicKey.secretName $v.publicKey.configMapName -}}{{- $foreign = append $foreign "publicKey" -}}{{- end -}}
{{- if $v.usage.dimensions -}}{{- $foreign = append $foreign "usage.dimensions" -}}{{- end -}}
{{- else -}}
{{- if $l.productSku -}}{{- $foreign = append $foreign "license.productSku" -}}{{- end -}}
{{- if $l.trustedProductSkus -}}{{- $foreign = append $foreign "license.trustedProductSkus" -}}{{- end -}}
{{- if $l.entitlements -}}{{- $foreign = append $foreign "license.entitlements" -}}{{- end -}}
{{- if or $l.publicKey.pem $l.publicKey.secretName $l.publicKey.configMapName -}}{{- $foreign = append $foreign "license.publicKey" -}}{{- end -}}
{{- end -}}
{{- if and (not $license) $l.licenseSecret.enabled -}}
{{- fail (printf "%s: license.licenseSecret.enabled is for contract products outside AWS (entitlementSource: license-manager); RegisterUsage (entitlementSource register-usage) works only on EKS, ECS and Fargate, with IRSA or the task role, never with a license token" $p) -}}
{{- end -}}
{{- if and $license $l.licenseSecret.enabled (not $l.licenseSecret.name) -}}
{{- fail (printf "%s: license.licenseSecret.name is required with license.licenseSecret.enabled: the buyer's Secret from AWS Marketplace (aws-marketplace-license-config unless they renamed it)" $p) -}}
{{- end -}}
{{- if $foreign -}}
{{- fail (printf "%s: entitlementSource is %s, so %s must be empty: %s" $p (toString $v.entitlementSource) (join ", " $foreign) (ternary "a contract product has a SKU and entitlements, no product code or token key (and no usage metering)" "those values are for contract products (entitlementSource: license-manager)" (not (not $license)))) -}}
{{- end -}}
{{- $k := include "entitlement-sidecar.keyValues" . | fromYaml -}}
{{- $keyName := ternary "license.publicKey" "publicKey" (not (not $license)) -}}
{{- $sources := list -}}
{{- if $k.pem -}}{{- $sources = append $sources (printf "%s.pem" $keyName) -}}{{- end -}}
{{- if $k.secretName -}}{{- $sources = append $sources (printf "%s.secretName" $keyName) -}}{{- end -}}
{{- if $k.configMapName -}}{{- $sources = append $sources (printf "%s.configMapName" $keyName) -}}{{- end -}}
{{- if $v.bakedIntoImage -}}
{{- $set := $sources -}}
{{- if $v.productCode -}}{{- $set = append $set "productCode" -}}{{- end -}}
{{- if $v.trustedProductCodes -}}{{- $set = append $set "trustedProductCodes" -}}{{- end -}}
{{- if $l.productSku -}}{{- $set = append $set "license.productSku" -}}{{- end -}}
{{- if $l.trustedProductSkus -}}{{- $set = append $set "license.trustedProductSkus" -}}{{- end -}}
{{- if $l.entitlements -}}{{- $set = append $set "license.entitlements" -}}{{- end -}}
{{- if $set -}}
{{- fail (printf "%s: bakedIntoImage is true, so %s must be empty: chart values would override what the image has baked in" $p (join ", " $set)) -}}
{{- end -}}
{{- else if $license -}}
{{- if not $l.productSku -}}
{{- fail (printf "%s: license.productSku is required with entitlementSource license-manager: the product ID (a UUID) from the AWS Marketplace Management Portal" $p) -}}
{{- end -}}
{{- if not $l.entitlements -}}
{{- fail (printf "%s: license.entitlements is required with entitlementSource license-manager: the entitlements to check out, e.g. [{name: PremiumTier, unit: None}] or [{name: Nodes, unit: Count, value: \"1\"}]" $p) -}}
{{- end -}}
{{- if and $l.trustedProductSkus (not (has (lower (toString $l.productSku)) (splitList "," (lower (join "," $l.trustedProductSkus))))) -}}
{{- fail (printf "%s: license.productSku %q is not in license.trustedProductSkus %v; the sidecar would refuse to start" $p (toString $l.productSku) $l.trustedProductSkus) -}}
{{- end -}}
{{- if gt (len $sources) 1 -}}
{{- fail (printf "%s: set at most one of license.publicKey.pem, license.publicKey.secretName, license.publicKey.configMapName; set now: %s" $p (join ", " $sources)) -}}
{{- end -}}
{{- else -}}
{{- if not $v.productCode -}}
{{- fail (printf "%s: productCode is required (the AWS Marketplace product code of your listing), or set bakedIntoImage=true for an image that carries it" $p) -}}
{{- end -}}
{{- if ne (len $sources) 1 -}}
{{- fail (printf "%s: set exactly one of publicKey.pem, publicKey.secretName, publicKey.configMapName (or bakedIntoImage=true); set now: %s" $p (default "none" (join ", " $sources))) -}}
{{- end -}}
{{- if and $v.trustedProductCodes (not (has (toString $v.productCode) $v.trustedProductCodes)) -}}
{{- fail (printf "%s: productCode %q is not in trustedProductCodes %v; the sidecar would refuse to start" $p (toString $v.productCode) $v.trustedProductCodes) -}}
{{- end -}}
{{- end -}}
{{- $sa := $v.serviceAccount -}}
{{- $annotated := index (default dict $sa.annotations) "eks.amazonaws.com/role-arn" | default "" -}}
{{- if $sa.create -}}
{{- if and $sa.roleArn $annotated (ne $sa.roleArn $annotated) -}}
{{- fail (printf "%s: serviceAccount.roleArn and serviceAccount.annotations[eks.amazonaws.com/role-arn] disagree; set only serviceAccount.roleArn" $p) -}}
{{- end -}}
{{- $endpoint := ternary $v.aws.licenseManagerEndpointUrl $v.aws.endpointUrl (not (not $license)) -}}
{{- $later := "; or, when the buyer gives the role at install (an EKS add-on: aws eks create-addon), set serviceAccount.requireRoleArn=false" -}}
{{- if and $sa.requireRoleArn (not $sa.roleArn) (not $annotated) (not $endpoint) (not (and $license $l.licenseSecret.enabled)) -}}
{{- if $license -}}
{{- fail (printf "%s: serviceAccount.roleArn is required: on EKS, the sidecar checks the license with IRSA credentials (an IAM role with license-manager:CheckoutLicense, CheckInLicense, ExtendLicenseConsumption, GetLicense and ListReceivedLicenses, trusted by the cluster's OIDC provider); the node role gets AuthorizationException%s" $p $later) -}}
{{- else -}}
{{- fail (printf "%s: serviceAccount.roleArn is required: on EKS, RegisterUsage accepts only IRSA credentials (an IAM role with aws-marketplace:RegisterUsage trusted by the cluster's OIDC provider); EKS Pod Identity and the node role are not supported%s" $p $later) -}}
{{- end -}}
{{- end -}}
{{- else -}}
{{- if not $sa.name -}}
{{- fail (printf "%s: serviceAccount.name is required when serviceAccount.create is false (the existing ServiceAccount with the IRSA role annotation)" $p) -}}
{{- end -}}
{{- if or $sa.roleArn $sa.annotations -}}
{{- fail (printf "%s: serviceAccount.roleArn and serviceAccount.annotations apply only to a ServiceAccount this chart creates; annotate your existing ServiceAccount %q instead" $p (toString $sa.name)) -}}
{{- end -}}
{{- end -}}
{{- if and $v.kubernetesStatus.readinessGate (not $v.kubernetesStatus.enabled) -}}
{{- fail (printf "%s: kubernetesStatus.readinessGate needs kubernetesStatus.enabled: nothing else sets the marketplace.aws/entitled condition, so the pods would never turn Ready" $p) -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) -}}
{{- fail (printf "%s: metrics.serviceMonitor.enabled needs metrics.enabled" $p) -}}
{{- end -}}
{{- $deadline := include "entitlement-sidecar.durationSeconds" $v.registerDeadline | int -}}
{{- if or (lt $deadline 1) (gt $deadline 86400) -}}
{{- fail (printf "%s: registerDeadline must be from 1s to 24h, got %q" $p (toString $v.registerDeadline)) -}}
{{- end -}}
{{- if and $v.nativeSidecar (ne (toString $v.mode) "init") $v.startupProbe.failureThreshold -}}
{{- $budget := mul (int $v.startupProbe.periodSeconds) (int $v.startupProbe.failureThreshold) -}}
{{- if lt (int $budget) $deadline -}}
{{- fail (printf "%s: startupProbe allows %ds (periodSeconds x failureThreshold) but registerDeadline is %ds: the kubelet would restart the sidecar while it still retries; raise failureThreshold or leave it null" $p (int $budget) $deadline) -}}
{{- end -}}
{{- end -}}
{{- $reserved := list "ENTITLEMENT_SOURCE" "MARKETPLACE_PRODUCT_CODE" "MARKETPLACE_PUBLIC_KEY_VERSION" "MARKETPLACE_PUBLIC_KEY_FILE" "MARKETPLACE_PUBLIC_KEY" "MARKETPLACE_TRUSTED_PRODUCT_CODES" "MARKETPLACE_PRODUCT_SKU" "MARKETPLACE_TRUSTED_PRODUCT_SKUS" "MARKETPLACE_LICENSE_ENTITLEMENTS" "MARKETPLACE_LICENSE_CHECKOUT_TYPE" "ENTITLEMENT_LICENSE_CHECK_INTERVAL" "ENTITLEMENT_LICENSE_GRACE" "MARKETPLACE_LICENSE_PUBLIC_KEY_FILE" "MARKETPLACE_LICENSE_PUBLIC_KEY" "ENTITLEMENT_FILE" "ENTITLEMENT_LISTEN" "ENTITLEMENT_REGISTER_DEADLINE" "LOG_LEVEL" "AWS_REGION" "AWS_ENDPOINT_URL_MARKETPLACE_METERING" "AWS_ENDPOINT_URL_LICENSE_MANAGER" "POD_NAME" "POD_NAMESPACE" "POD_UID" "ENTITLEMENT_KUBERNETES_STATUS" "MARKETPLACE_USAGE_DIMENSIONS" "ENTITLEMENT_USAGE_LISTEN" -}}
{{- if and $v.usage.dimensions (eq (int $v.usage.port) (int $v.port)) -}}
{{- fail (printf "%s: usage.port must differ from port (%d): the usage intake is for the pod only, never the probe port" $p (int $v.port)) -}}
{{- end -}}
{{- with $v.entitlementVolume.sizeLimit -}}
{{- $bytes := include "entitlement-sidecar.quantityBytes" . | int64 -}}
{{- /* On node disk the kubelet evicts a pod past sizeLimit instead of failing writes, and the usage journal
  cannot see the limit: it needs 2 x 4 MiB (itself and its compacted copy) + 32 KiB (see the README). */ -}}
{{- if and $v.usage.dimensions (ne $v.entitlementVolume.medium "Memory") (gt $bytes 0) (lt $bytes 9437184) -}}
{{- fail (printf "%s: entitlementVolume.sizeLimit %s is too small for usage metering on node disk (medium \"\"): the usage journal may take 8 MiB and the kubelet evicts a pod whose emptyDir passes sizeLimit; set at least 9Mi, or medium: Memory" $p (toString .)) -}}
{{- end -}}
{{- end -}}
{{- range $v.extraEnv -}}
{{- if has .name $reserved -}}
{{- fail (printf "%s: extraEnv must not set %s; use the chart value for it (see the chart README)" $p .name) -}}
{{- end -}}
{{- end -}}
{{- end -}}
