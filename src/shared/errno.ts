/**
 * The errno codes of a connection that failed, in one table for every client here (AWS calls and the
 * Kubernetes API), with what each says about the request: whether it certainly never left this host.
 * That matters to a caller that must never send twice: after ECONNREFUSED nothing was sent, after
 * ECONNRESET the request may have been processed.
 */
export const NETWORK_ERRNOS: Readonly<Record<string, { readonly sentNothing: boolean }>> = {
  ECONNREFUSED: { sentNothing: true },
  ENOTFOUND: { sentNothing: true },
  EAI_AGAIN: { sentNothing: true },
  EHOSTUNREACH: { sentNothing: true },
  ENETUNREACH: { sentNothing: true },
  ENETDOWN: { sentNothing: true },
  UND_ERR_CONNECT_TIMEOUT: { sentNothing: true },
  ECONNRESET: { sentNothing: false },
  ECONNABORTED: { sentNothing: false },
  EPIPE: { sentNothing: false },
  ETIMEDOUT: { sentNothing: false },
  EPROTO: { sentNothing: false },
  UND_ERR_SOCKET: { sentNothing: false },
};

export function isNetworkErrno(code: string | undefined): boolean {
  return code !== undefined && Object.hasOwn(NETWORK_ERRNOS, code);
}

/** The first string `code` on an error or its causes (libraries wrap socket errors), if any. */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Object && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}
