import { removeIfExists, writeFileAtomic } from '../shared/atomic-file.js';
import { readRegularFile } from '../shared/regular-file.js';

/**
 * The License Manager checkout this pod holds, recorded next to the entitlement file on the shared
 * volume (it lives as long as the pod or task). A sidecar restarted in the same pod reuses the seat it
 * finds here instead of taking a second one, and a stopping sidecar checks it in. Mode 0600: it is the
 * sidecar's own state, not the app's to read or edit.
 */

export interface SeatRecord {
  readonly productSku: string;
  readonly region: string;
  readonly licenseArn: string;
  readonly consumptionToken: string;
  readonly checkoutType: 'PROVISIONAL' | 'PERPETUAL';
  readonly entitlements: readonly { readonly name: string; readonly unit: string; readonly value: string | null }[];
  readonly signedToken: string | null;
  readonly signedTokenVerified: boolean;
  readonly issuedAt: string;
  /** The consumption's own expiration (when the seat returns by itself unless extended). */
  readonly expiration: string;
  /** When License Manager last confirmed the license. */
  readonly checkedAt: string;
  /** The end of the license's validity as GetLicense last showed it, if it has one. */
  readonly licenseEnd: string | null;
}

export const SEAT_RECORD_MODE = 0o600;
/** A record is well under 16 KiB even with a SignedToken; anything larger is not one. */
const MAX_SEAT_RECORD_BYTES = 64 * 1024;

export function seatPathFor(entitlementFile: string): string {
  return `${entitlementFile}.checkout`;
}

export async function writeSeat(entitlementFile: string, seat: SeatRecord): Promise<void> {
  await writeFileAtomic(seatPathFor(entitlementFile), `${JSON.stringify(seat, null, 2)}\n`, SEAT_RECORD_MODE);
}

export async function removeSeat(entitlementFile: string): Promise<void> {
  await removeIfExists(seatPathFor(entitlementFile));
}

/**
 * The recorded seat, if there is a well-formed one for this SKU. Anything else (no file, a link, a
 * FIFO, a damaged or foreign record) is `undefined` with the reason: unlike a denial, a lost seat record
 * costs at most a seat that returns by itself at its expiry, so the sidecar goes on and checks out.
 */
export async function readSeat(entitlementFile: string, productSku: string): Promise<{ seat: SeatRecord } | { seat: undefined; why: string | undefined }> {
  let text: string;
  try {
    text = (await readRegularFile(seatPathFor(entitlementFile), MAX_SEAT_RECORD_BYTES)).toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { seat: undefined, why: undefined };
    return { seat: undefined, why: (err as Error).message };
  }
  let parsed: Partial<SeatRecord>;
  try {
    parsed = JSON.parse(text) as Partial<SeatRecord>;
  } catch {
    return { seat: undefined, why: 'the seat record is not JSON' };
  }
  const str = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 8192;
  const wellFormed =
    str(parsed.productSku) && str(parsed.region) && str(parsed.licenseArn) && str(parsed.consumptionToken) &&
    (parsed.checkoutType === 'PROVISIONAL' || parsed.checkoutType === 'PERPETUAL') && Array.isArray(parsed.entitlements) &&
    str(parsed.issuedAt) && str(parsed.expiration) && str(parsed.checkedAt) && Number.isFinite(Date.parse(parsed.expiration as string));
  if (!wellFormed) return { seat: undefined, why: 'the seat record is not well-formed' };
  if (parsed.productSku !== productSku) return { seat: undefined, why: `the seat record is for product ${String(parsed.productSku)}` };
  const licenseEnd = typeof parsed.licenseEnd === 'string' && Number.isFinite(Date.parse(parsed.licenseEnd)) ? parsed.licenseEnd : null;
  return { seat: { ...(parsed as SeatRecord), licenseEnd } };
}
