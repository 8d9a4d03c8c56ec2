import { readSettings } from '../config/flags.js';
import { productPublicKey, RUN_SETTINGS } from '../config/settings.js';
import { EntitlementFileError, verifyEntitlementFile } from '../entitlement/verify-file.js';

/**
 * `verify`: re-verifies an entitlement file offline. 0 valid, 1 invalid, 2 bad arguments. Its settings
 * are rows of the sidecar's own table, parsed the same way; the product code and key version are
 * optional here (checked only when given).
 */
const VERIFY_SETTINGS = {
  entitlementFile: RUN_SETTINGS.entitlementFile,
  publicKeyFile: RUN_SETTINGS.publicKeyFile,
  publicKey: RUN_SETTINGS.publicKey,
  productCode: RUN_SETTINGS.productCode,
  publicKeyVersion: { ...RUN_SETTINGS.publicKeyVersion, default: undefined },
  trustedProductCodes: RUN_SETTINGS.trustedProductCodes,
} as const;

export async function runVerifyCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const { values: v, problems } = readSettings(VERIFY_SETTINGS, argv, env, { command: 'entitlement-sidecar verify', blame: 'env' });
  const key = productPublicKey(v.publicKeyFile, v.publicKey, problems);
  if (problems.length > 0 || key === undefined) {
    for (const p of problems) err(p);
    return 2;
  }
  const file = v.entitlementFile as string;
  try {
    const verified = await verifyEntitlementFile(file, {
      publicKey: key.key.key,
      ...(v.productCode === undefined ? {} : { productCode: v.productCode }),
      ...(v.publicKeyVersion === undefined ? {} : { publicKeyVersion: v.publicKeyVersion }),
      ...(v.trustedProductCodes === undefined ? {} : { trustedProductCodes: v.trustedProductCodes }),
    });
    out(JSON.stringify({ valid: true, file, productCode: verified.productCode, publicKeyVersion: verified.publicKeyVersion, issuedAt: verified.issuedAt?.toISOString() ?? null }));
    return 0;
  } catch (e) {
    if (!(e instanceof EntitlementFileError)) throw e;
    err(JSON.stringify({ valid: false, file, reason: e.reason, message: e.message }));
    return 1;
  }
}
