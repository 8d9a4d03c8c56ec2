import { parseArgs } from '../config/parse.js';
import { PRODUCT_CODE_PATTERN, readPublicKeyText } from '../config/settings.js';
import { EntitlementFileError, verifyEntitlementFile } from '../entitlement/verify-file.js';
import { parseProductPublicKey, PublicKeyError } from '../entitlement/public-key.js';

const FLAGS: Record<string, string> = {
  'entitlement-file': 'ENTITLEMENT_FILE',
  'public-key-file': 'MARKETPLACE_PUBLIC_KEY_FILE',
  'public-key': 'MARKETPLACE_PUBLIC_KEY',
  'product-code': 'MARKETPLACE_PRODUCT_CODE',
  'public-key-version': 'MARKETPLACE_PUBLIC_KEY_VERSION',
  'trusted-product-codes': 'MARKETPLACE_TRUSTED_PRODUCT_CODES',
};

/** `verify`: re-verifies an entitlement file offline. 0 valid, 1 invalid, 2 bad arguments. */
export async function runVerifyCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const args = parseArgs(argv, new Set(Object.keys(FLAGS)));
  const problems = [...args.problems];
  const get = (flag: string) => {
    const v = args.flags.get(flag) ?? env[FLAGS[flag] as string];
    return v === '' ? undefined : v;
  };
  const file = get('entitlement-file') ?? '/var/run/marketplace/entitlement.json';
  const keyFile = get('public-key-file');
  const keyText = get('public-key');
  let pem: string | undefined;
  if (keyFile !== undefined && keyText !== undefined) problems.push('MARKETPLACE_PUBLIC_KEY_FILE and MARKETPLACE_PUBLIC_KEY are both set; set exactly one');
  else if (keyFile === undefined && keyText === undefined) problems.push('MARKETPLACE_PUBLIC_KEY_FILE or MARKETPLACE_PUBLIC_KEY is required');
  else {
    const read = readPublicKeyText(keyFile, keyText);
    if ('problem' in read) problems.push(read.problem);
    else pem = read.pem;
  }
  let key;
  if (pem !== undefined) {
    try {
      key = parseProductPublicKey(pem).key;
    } catch (e) {
      if (!(e instanceof PublicKeyError)) throw e;
      problems.push(`${keyFile !== undefined ? 'MARKETPLACE_PUBLIC_KEY_FILE' : 'MARKETPLACE_PUBLIC_KEY'} ${e.message}`);
    }
  }
  const productCode = get('product-code');
  if (productCode !== undefined && !PRODUCT_CODE_PATTERN.test(productCode)) problems.push('MARKETPLACE_PRODUCT_CODE must be 1-255 characters of [-a-zA-Z0-9/=:_.@]');
  const versionText = get('public-key-version');
  const publicKeyVersion = versionText === undefined ? undefined : Number(versionText);
  if (versionText !== undefined && (!/^\d+$/.test(versionText) || (publicKeyVersion as number) < 1)) {
    problems.push(`MARKETPLACE_PUBLIC_KEY_VERSION must be an integer >= 1, got "${versionText}"`);
  }
  const trusted = get('trusted-product-codes')?.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (problems.length > 0 || key === undefined) {
    for (const p of problems) err(p);
    return 2;
  }
  try {
    const v = await verifyEntitlementFile(file, {
      publicKey: key,
      ...(productCode === undefined ? {} : { productCode }),
      ...(publicKeyVersion === undefined ? {} : { publicKeyVersion }),
      ...(trusted === undefined ? {} : { trustedProductCodes: trusted }),
    });
    out(JSON.stringify({ valid: true, file, productCode: v.productCode, publicKeyVersion: v.publicKeyVersion, issuedAt: v.issuedAt?.toISOString() ?? null }));
    return 0;
  } catch (e) {
    if (!(e instanceof EntitlementFileError)) throw e;
    err(JSON.stringify({ valid: false, file, reason: e.reason, message: e.message }));
    return 1;
  }
}
