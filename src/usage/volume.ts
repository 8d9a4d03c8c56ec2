import { statfs } from 'node:fs/promises';

/**
 * How much of the shared volume the usage journal may take. The volume also holds the entitlement
 * file the app needs, so usage must never fill it: the journal has a hard bound, and needs room for a
 * second copy of itself while it is compacted (a temporary file, renamed over it).
 *
 *   volume >= 2 x journal bound (the journal and its compacted copy) + ENTITLEMENT_ROOM_BYTES
 *
 * The bound is DEFAULT_JOURNAL_MAX_BYTES, or less on a smaller file system (a memory-backed emptyDir
 * is a tmpfs of exactly its sizeLimit): half of what remains after the entitlement room. On a
 * disk-backed emptyDir the file system is the node's disk and the kubelet evicts the pod past
 * sizeLimit instead of failing writes, so the chart's sizeLimit is set from these figures (see
 * README, "Usage metering", and bench/journal-growth.mjs for the measurements).
 */

export const KIB = 1024;
export const MIB = 1024 * KIB;

/** The journal's bound when the volume is large enough: 4 MiB, about 48,000 reports of 87 bytes without compaction. */
export const DEFAULT_JOURNAL_MAX_BYTES = 4 * MIB;
/**
 * Kept free for the entitlement file, its denial record and a temporary copy of each while they are
 * rewritten: four files of about 1.3 KiB, each a 4 KiB page on tmpfs (16 KiB), twice over.
 */
export const ENTITLEMENT_ROOM_BYTES = 32 * KIB;
/** Below this the journal is useless; a volume that small fails writes, which the journal survives too. */
export const MIN_JOURNAL_MAX_BYTES = 8 * KIB;

export interface JournalLimits {
  /** The journal file never grows past this. */
  readonly maxBytes: number;
  /**
   * Reports are accepted only while the journal stays within this; the rest (a quarter) is the
   * forwarder's, so it can always make, settle and send records, however many reports come.
   */
  readonly intakeBytes: number;
  /** Compaction starts above this (and above twice the size the last compaction left). */
  readonly compactAboveBytes: number;
  /** At most this much of the compacted journal holds the app's idempotency keys. */
  readonly intakeIdBytes: number;
}

export function journalLimits(maxBytes: number): JournalLimits {
  return Object.freeze({
    maxBytes,
    intakeBytes: Math.floor((maxBytes * 3) / 4),
    compactAboveBytes: Math.floor(maxBytes / 16),
    intakeIdBytes: Math.floor(maxBytes / 8),
  });
}

/** The journal bound for a file system of `volumeBytes` (undefined: unknown, take the default). */
export function journalMaxBytesFor(volumeBytes: number | undefined): number {
  if (volumeBytes === undefined) return DEFAULT_JOURNAL_MAX_BYTES;
  const half = Math.floor((volumeBytes - ENTITLEMENT_ROOM_BYTES) / 2 / 4096) * 4096;
  return Math.min(DEFAULT_JOURNAL_MAX_BYTES, Math.max(MIN_JOURNAL_MAX_BYTES, half));
}

/** The limits for a journal in `dir`, from the size of its file system. */
export async function journalLimitsFor(dir: string): Promise<JournalLimits & { readonly volumeBytes: number | undefined }> {
  let volumeBytes: number | undefined;
  try {
    const st = await statfs(dir);
    volumeBytes = st.bsize * st.blocks;
  } catch {
    volumeBytes = undefined;
  }
  return { ...journalLimits(journalMaxBytesFor(volumeBytes)), volumeBytes };
}
