import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { listen, ListenError } from '../../../src/shared/http.js';

describe('listen', () => {
  it('closes and refuses a listener that turns out not to be on loopback when loopback is required', async () => {
    const server = createServer();
    const err = await listen(server, { host: '0.0.0.0', port: 0 }, { setting: 'ENTITLEMENT_USAGE_LISTEN', loopbackOnly: true }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ListenError);
    expect(err).toMatchObject({ setting: 'ENTITLEMENT_USAGE_LISTEN', code: 'ENOTLOOPBACK' });
    expect((err as Error).message).toMatch(/bound 0\.0\.0\.0, which is not a loopback address/);
    expect(server.listening).toBe(false);
  });

  it('keeps a loopback listener, in either family', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const server = createServer();
      const bound = await listen(server, { host, port: 0 }, { setting: 'X', loopbackOnly: true });
      expect(bound.address).toBe(host);
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
