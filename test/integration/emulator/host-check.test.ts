/**
 * The Host check (DNS rebinding) and "is it loopback", for every spelling of an address: IPv4 in the
 * forms browsers and getaddrinfo read (127.1, 0x7f.0.0.1, 2130706433, octal), the whole of
 * 127.0.0.0/8, ::1 compressed or not, IPv4-mapped IPv6, names in any case with a trailing dot, with
 * and without ports and brackets. Every request goes to 127.0.0.1 or ::1; only the Host header varies.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackIp } from '../../../src/shared/addresses.js';
import { hostAllowed, parseHost } from '../../../src/emulator/host-check.js';
import { PRODUCT, rawRequest, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

describe('isLoopbackIp', () => {
  it.each(['127.0.0.1', '127.0.0.2', '127.1.2.3', '127.255.255.255', '::1', '0:0:0:0:0:0:0:1', '0000:0000:0000:0000:0000:0000:0000:0001', '::0:1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::FFFF:127.9.9.9'])(
    '%s is loopback',
    (address) => expect(isLoopbackIp(address)).toBe(true),
  );

  // ::7f00:1 is the deprecated IPv4-compatible form, not loopback; names and host:port are not addresses.
  it.each(['0.0.0.0', '::', '10.0.0.1', '126.255.255.255', '128.0.0.1', '192.0.2.1', '::2', '::7f00:1', '::ffff:10.0.0.1', 'fe80::1', 'localhost', '127.1', '[::1]', '127.0.0.1:80', ''])(
    '%s is not',
    (address) => expect(isLoopbackIp(address)).toBe(false),
  );
});

describe('parseHost normalises every spelling', () => {
  it.each([
    ['127.0.0.1:8787', '127.0.0.1', true],
    ['127.1', '127.0.0.1', true],
    ['0x7f.0.0.1:80', '127.0.0.1', true],
    ['2130706433', '127.0.0.1', true],
    ['017700000001', '127.0.0.1', true],
    ['127.0.0.1.', '127.0.0.1', true],
    ['[::1]:8787', '::1', true],
    ['[0:0:0:0:0:0:0:1]', '::1', true],
    ['[::FFFF:127.0.0.1]', '::ffff:7f00:1', true],
    ['LOCALHOST', 'localhost', false],
    ['localhost.:8787', 'localhost', false],
    ['Emulator', 'emulator', false],
  ])('%s -> %s', (text, name, ip) => expect(parseHost(text)).toEqual({ name, ip }));

  it.each(['', ' ', 'a b', 'evil.example/x', 'user@127.0.0.1', '127.0.0.1:99999', '127.0.0.1:', '[::1', '::1', '[::1%25lo]', '[evil.example]', '1.2.3.4.5', 'evil.123'])(
    '%j is not a host',
    (text) => expect(parseHost(text)).toBeUndefined(),
  );

  it('wants exactly one Host value', () => {
    const policy = { loopbackOnly: true, allowed: new Set<string>() };
    expect(hostAllowed(['127.0.0.1'], policy)).toBe(true);
    expect(hostAllowed(undefined, policy)).toBe(false);
    expect(hostAllowed(['127.0.0.1', '127.0.0.1'], policy)).toBe(false);
  });
});

/** GET /_emulator/state with this Host header, to the emulator's loopback address. */
const stateWithHost = (emulator: TestEmulator, host: string) => rawRequest(`http://127.0.0.1:${emulator.port}`, { method: 'GET', path: '/_emulator/state', headers: { host } });

describe('the Host check on an emulator bound to loopback', () => {
  let emulator: TestEmulator;
  let port: number;
  beforeAll(async () => {
    emulator = await startTestEmulator();
    port = emulator.port;
  });
  afterAll(() => emulator.close());

  it.each(['127.0.0.1:P', '127.0.0.1', '127.1:P', '127.8.9.10:P', '0x7f.0.0.1:P', '2130706433:P', '127.0.0.1.:P', 'localhost:P', 'LocalHost', 'localhost.:P', '[::1]:P', '[0:0:0:0:0:0:0:1]:P', '[::ffff:127.0.0.1]:P', '[::ffff:7f00:1]'])(
    'answers Host %s',
    async (host) => expect((await stateWithHost(emulator, host.replace('P', String(port)))).status).toBe(200),
  );

  // DNS rebinding: the attacker's own name resolved to 127.0.0.1, with or without the port, dressed up as loopback.
  it.each(['evil.example', 'evil.example:P', 'EVIL.example.:P', 'localhost.evil.example:P', '127.0.0.1.nip.io:P', 'localhost-evil.example', 'sub.localhost:P', '10.0.0.1:P', '[::ffff:10.0.0.1]:P', '[::7f00:1]:P', '0.0.0.0:P', '[::]:P', 'a b', 'user@127.0.0.1:P'])(
    'refuses Host %j with 421, naming it',
    async (host) => {
      const res = await stateWithHost(emulator, host.replace('P', String(port)));
      expect(res.status).toBe(421);
      expect(res.json()['error']).toMatch(/^The emulator does not answer Host ".*": it answers loopback addresses, localhost and the names given to --allowed-hosts \(a guard against DNS rebinding\)\.$/);
    },
  );

  it('refuses a Metering API call under a rebinding Host in AWS JSON form, even correctly signed for it', async () => {
    const body = JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1 });
    const res = await signedRequest(emulator, { body, headers: { host: `evil.example:${port}` } });
    expect(res.status).toBe(421);
    expect(res.headers['x-amzn-errortype']).toBe('MisdirectedRequestException');
    expect(res.json()['__type']).toBe('MisdirectedRequestException');
    expect((await signedRequest(emulator, { body, headers: { host: `localhost:${port}` } })).status).toBe(200);
    expect(emulator.state().totalCalls).toBe(1);
  });

  /** One raw HTTP exchange on a socket, for what Node's client will not send. */
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(request));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });

  it('refuses a request without a Host (HTTP/1.0), with an empty one, and with two', async () => {
    expect(await raw('GET /_emulator/state HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 421 /);
    expect(await raw('GET /_emulator/state HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n')).toMatch(/^HTTP\/1\.1 421 /);
    const two = await raw(`GET /_emulator/state HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nHost: evil.example\r\nConnection: close\r\n\r\n`);
    expect(two).toMatch(/^HTTP\/1\.1 421 /);
  });
});

describe('allowedHosts', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ allowedHosts: ['emulator', 'CI-Runner.internal.', '192.0.2.10'] });
  });
  afterAll(() => emulator.close());

  it.each(['emulator:8787', 'EMULATOR', 'ci-runner.internal', 'ci-runner.internal.:1', '192.0.2.10:8787'])('answers Host %s', async (host) => {
    expect((await stateWithHost(emulator, host)).status).toBe(200);
  });

  it.each(['emulator.evil.example', 'evil-emulator', '192.0.2.11', 'internal'])('still refuses Host %s', async (host) => {
    expect((await stateWithHost(emulator, host)).status).toBe(421);
  });

  it('rejects entries that are not host names or addresses, naming each', async () => {
    await expect(startTestEmulator({ allowedHosts: ['evil.example/path', '', 'a b'] })).rejects.toThrow(
      'invalid emulator options: allowedHosts: "evil.example/path" is not a host name or IP address; allowedHosts: "" is not a host name or IP address; allowedHosts: "a b" is not a host name or IP address',
    );
  });
});

describe('the listen address', () => {
  const warnings = async (host: string): Promise<{ emulator: TestEmulator; lines: Record<string, unknown>[] }> => {
    let text = '';
    // pino calls write() as it logs, and a Writable's _write runs within that call: the lines are here once startEmulator returns.
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    const emulator = await startTestEmulator({ host, logger: pino({ level: 'warn' }, logs) });
    return { emulator, lines: text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
  };

  it.each(['127.0.0.1', '127.0.0.2', '127.1', 'localhost', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1'])(
    '%s is loopback in whatever spelling: no warning, only loopback Hosts answered',
    async (host) => {
      const { emulator, lines } = await warnings(host);
      try {
        expect(lines).toEqual([]);
        expect(isLoopbackIp(emulator.address)).toBe(true);
        const base = `http://${emulator.address.includes(':') ? `[${emulator.address}]` : emulator.address}:${emulator.port}`;
        expect((await rawRequest(base, { method: 'GET', path: '/_emulator/state', headers: { host: `localhost:${emulator.port}` } })).status).toBe(200);
        expect((await rawRequest(base, { method: 'GET', path: '/_emulator/state', headers: { host: `192.0.2.10:${emulator.port}` } })).status).toBe(421);
      } finally {
        await emulator.close();
      }
    },
  );

  it('0.0.0.0 is warned about; IP-literal Hosts are answered (they cannot be rebound), other names still are not', async () => {
    const { emulator, lines } = await warnings('0.0.0.0');
    try {
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          module: 'emulator',
          address: '0.0.0.0',
          msg: expect.stringMatching(/^emulator listening on a non-loopback address: anyone who can reach it can change its scenario/),
        }),
      ]);
      expect((await stateWithHost(emulator, `192.0.2.10:${emulator.port}`)).status).toBe(200);
      expect((await stateWithHost(emulator, `[2001:db8::1]:${emulator.port}`)).status).toBe(200);
      expect((await stateWithHost(emulator, `evil.example:${emulator.port}`)).status).toBe(421);
    } finally {
      await emulator.close();
    }
  });
});
