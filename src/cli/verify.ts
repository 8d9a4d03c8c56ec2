import { readSettings } from '../config/flags.js';
import { licensePublicKey, productPublicKey, RUN_SETTINGS } from '../config/settings.js';
import { checkLicenseEntitlementFile } from '../entitlement/license-file.js';
import { EntitlementFileError, verifyEntitlementFile } from '../entitlement/verify-file.js';

/**
 * `verify`: re-checks an entitlement file offline. 0 valid, 1 invalid, 2 bad arguments. Its settings
 * are rows of the sidecar's own table, parsed the same way. An hourly product's file is verified with
 * the product's public key (product code and key version checked when given); with
 * MARKETPLACE_PRODUCT_SKU, a contract product's file is checked against that SKU (and its SignedToken
 * with the issuer's key, when given).
 */
const VERIFY_SETTINGS = {
  entitlementFile: RUN_SETTINGS.entitlementFile,
  publicKeyFile: RUN_SETTINGS.publicKeyFile,
  publicKey: RUN_SETTINGS.publicKey,
  productCode: RUN_SETTINGS.productCode,
  publicKeyVersion: { ...RUN_SETTINGS.publicKeyVersion, default: undefined },
  trustedProductCodes: RUN_SETTINGS.trustedProductCodes,
  productSku: RUN_SETTINGS.productSku,
  trustedProductSkus: RUN_SETTINGS.trustedProductSkus,
  licensePublicKeyFile: RUN_SETTINGS.licensePublicKeyFile,
  licensePublicKey: RUN_SETTINGS.licensePublicKey,
} as const;

export async function runVerifyCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values: v, problems } = readSettings(VERIFY_SETTINGS, argv, env, { command: 'entitlement-sidecar verify', blame: 'env' });
  const file = v.entitlementFile as string;
  const contract = v.productSku !== undefined;
  const key = contract ? undefined : productPublicKey(v.publicKeyFile, v.publicKey, problems);
  const issuerKey = contract ? licensePublicKey(v.licensePublicKeyFile, v.licensePublicKey, problems) : undefined;
  if (!contract && problems.some((p) => p.startsWith('MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required'))) {
    problems.push("for a contract product's file, set MARKETPLACE_PRODUCT_SKU (--product-sku) instead");
  }
  if (problems.length > 0 || (!contract && key === undefined)) {
    for (const p of problems) err(p);
    return 2;
  }
  try {
    if (contract) {
      const checked = await checkLicenseEntitlementFile(file, {
        productSku: v.productSku as string,
        ...(v.trustedProductSkus === undefined ? {} : { trustedProductSkus: v.trustedProductSkus }),
        ...(issuerKey === undefined ? {} : { licensePublicKey: issuerKey.key.key }),
      });
      out(
        JSON.stringify({
          valid: true,
          file,
          source: 'license-manager',
          productSku: checked.productSku,
          licenseArn: checked.licenseArn,
          entitlements: checked.entitlements,
          checkedAt: checked.checkedAt.toISOString(),
          stale: checked.stale,
          signedTokenVerified: checked.signedTokenVerified,
        }),
      );
      return 0;
    }
    const verified = await verifyEntitlementFile(file, {
      publicKey: (key as NonNullable<typeof key>).key.key,
      ...(v.productCode === undefined ? {} : { productCode: v.productCode }),
      ...(v.publicKeyVersion === undefined ? {} : { publicKeyVersion: v.publicKeyVersion }),
      ...(v.trustedProductCodes === undefined ? {} : { trustedProductCodes: v.trustedProductCodes }),
    });
    out(JSON.stringify({ valid: true, file, source: 'register-usage', productCode: verified.productCode, publicKeyVersion: verified.publicKeyVersion, issuedAt: verified.issuedAt?.toISOString() ?? null }));
    return 0;
  } catch (e) {
    if (!(e instanceof EntitlementFileError)) throw e;
    err(JSON.stringify({ valid: false, file, reason: e.reason, message: e.message }));
    return 1;
  }
}
