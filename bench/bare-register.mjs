// The baseline: what most vendors hand-write today. One RegisterUsage call with the SDK's defaults
// (standard retry, 3 attempts), no signature check, then exit. Exit 1 on any error.
import { MarketplaceMeteringClient, RegisterUsageCommand } from '@aws-sdk/client-marketplace-metering';
import { randomUUID } from 'node:crypto';

const client = new MarketplaceMeteringClient({});
try {
  const out = await client.send(
    new RegisterUsageCommand({ ProductCode: process.env.MARKETPLACE_PRODUCT_CODE, PublicKeyVersion: 1, Nonce: randomUUID() }),
  );
  process.stdout.write(`registered ${out.Signature ? 'with a token' : 'without a token'}\n`);
} catch (err) {
  process.stdout.write(`failed: ${err.name}\n`);
  process.exitCode = 1;
}
