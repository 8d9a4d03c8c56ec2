import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * The container's termination message: Kubernetes creates the file (terminationMessagePath, by default
 * /dev/termination-log) and shows what it holds in `kubectl describe pod` and the pod's status once the
 * container exits. Elsewhere (ECS, a shell) there is no such file, and none is created: only a regular
 * file that already exists is written, never through a symlink, never a FIFO or a device.
 */

/** Kubernetes keeps the first 4096 bytes of a container's termination message. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;

export type TerminationMessageResult = { readonly written: true } | { readonly written: false; readonly why: string };

/** The first `max` bytes of `text` in UTF-8, cut at a character boundary. */
export function truncateUtf8(text: string, max: number): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= max) return bytes;
  let end = max;
  // Back up over continuation bytes (10xxxxxx) to the start of the character that does not fit.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
}

export async function writeTerminationMessage(path: string, message: string): Promise<TerminationMessageResult> {
  let handle;
  try {
    // No O_CREAT: the file is the container runtime's. O_NONBLOCK: a FIFO without a reader fails at once.
    handle = await open(path, constants.O_WRONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return { written: false, why: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { written: false, why: 'not a regular file' };
    await handle.truncate(0);
    await handle.write(truncateUtf8(message, MAX_TERMINATION_MESSAGE_BYTES), 0, undefined, 0);
    return { written: true };
  } catch (err) {
    return { written: false, why: (err as NodeJS.ErrnoException).code ?? String(err) };
  } finally {
    await handle.close().catch(() => undefined);
  }
}
