/**
 * The app-side verifiers of examples/verify/, each run as a real program with its language's own
 * toolchain from Debian's packages (python3 + PyJWT + cryptography, go 1.19 + golang-jwt v4 in GOPATH
 * mode, javac + java 17, and node with this package), against entitlement files the real sidecar wrote
 * against the emulator, tokens the emulator minted defective, files tampered here, tokens signed with a
 * key of this test's own, the License Manager file the real sidecar wrote against the emulator's License
 * Manager (a signed license: the emulator's SignedToken, with the claims of AWS's sample), and License
 * Manager files of the sidecar's LicenseRecord shape with SignedTokens of an issuer key of this test's own. Every case asserts the exact reason word of all four; they must
 * agree. The Node recipe is the package's own verifyEntitlementFile and checkLicenseEntitlementFile, so
 * every case also holds the other three to the library.
 *
 * The Go program and the Java class are built once, before the cases. Every case passes `--now`, taken
 * from the file's own iat or a pinned instant, so none depends on the date it runs at (a Go binary does
 * not see libfaketime's clock); the cases of the default clock use an iat decades away from any date.
 */
import { execFile } from 'node:child_process';
import { constants, createHmac, createSign, randomBytes, sign } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BAD_TOKENS, type BadToken } from '../../../src/emulator/index.js';
import { writeEntitlement, type LicenseRecord, type RegisterUsageRecord } from '../../../src/entitlement/file.js';
import { AWS_MARKETPLACE_KEY_FINGERPRINT } from '../../../src/entitlement/license-file.js';
import { CRED, meteringClient, realClock, register, startTestEmulator, type TestEmulator } from '../../helpers/emulator-requests.js';
import { sidecarAwsEnv } from '../../helpers/emulator.js';
import { mintToken, rsaKeyPair, type TestKeyPair } from '../../helpers/keys.js';
import { startCli } from '../../helpers/process.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const RECIPES = join(ROOT, 'examples/verify');
const PYTHON = process.env['RECIPE_PYTHON'] ?? '/usr/bin/python3';
const GO = process.env['RECIPE_GO'] ?? '/usr/bin/go';
const JAVAC = process.env['RECIPE_JAVAC'] ?? '/usr/bin/javac';
const JAVA = process.env['RECIPE_JAVA'] ?? '/usr/bin/java';
const GOLANG_JWT = '/usr/share/gocode/src/github.com/golang-jwt/jwt'; // Debian's golang-github-golang-jwt-jwt-dev (v4)

const LANGUAGES = ['python', 'go', 'java', 'node'] as const;
type Language = (typeof LANGUAGES)[number];

const PRODUCT = 'prod-abc123';
const OTHER_PRODUCT = 'prod-free001';
/** Instants for tokens this test signs itself. */
const PINNED = '2027-06-15T12:15:00.000Z';
const PINNED_S = Date.parse(PINNED) / 1000;
const after = (seconds: number) => new Date((PINNED_S + seconds) * 1000).toISOString();

let work: string;
let emu: TestEmulator;
let emuPem: string;
let emuKeyFile: string;
/** The file the sidecar wrote for PRODUCT, and one it wrote for OTHER_PRODUCT against the same emulator. */
let good: RegisterUsageRecord;
let otherProduct: RegisterUsageRecord;
/** The contract product the emulator has a signed license of, and the file the sidecar wrote for it. */
const CONTRACT_SKU = '7a1c2b3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
let contract: LicenseRecord;
/** A key of this test's own, standing in for the product's key where the test must sign. */
let own: TestKeyPair;
let ownPem: string;
let ownKeyFile: string;
/** The License Manager issuer's key, for signedToken. */
let issuer: TestKeyPair;
let issuerPem: string;
let fileCount = 0;

const argv: Record<Language, (args: string[]) => [string, string[]]> = {
  python: (a) => [PYTHON, [join(RECIPES, 'python/verify_entitlement.py'), ...a]],
  go: (a) => [join(work, 'go/verify-entitlement'), a],
  java: (a) => [JAVA, ['-cp', join(work, 'java'), 'EntitlementVerifier', ...a]],
  node: (a) => [process.execPath, [join(RECIPES, 'node/verify-entitlement.mjs'), ...a]],
};

/** The environment of every verifier: nothing of the machine's but PATH (and libfaketime's settings under test-at-date.sh). */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const faketime = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('FAKETIME_')));
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1', ...faketime, ...extra };
}

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function runVerifier(language: Language, args: string[]): Promise<Outcome> {
  const [cmd, full] = argv[language](args);
  try {
    const { stdout, stderr } = await run(cmd, full, { env: childEnv(), timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string; killed?: boolean };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** What a verifier said, in one word: `valid`, a reason, or what went wrong with the contract itself. */
function verdict(o: Outcome): string {
  const lines = o.stdout.split('\n').filter((l) => l !== '');
  if (o.stderr !== '' || lines.length !== 1) return `exit ${o.code}, ${lines.length} lines, stderr: ${o.stderr}`;
  const out = JSON.parse(lines[0] as string) as { valid?: unknown; reason?: unknown; message?: unknown };
  if (o.code === 0 && out.valid === true) return 'valid';
  if (o.code === 1 && out.valid === false && typeof out.reason === 'string' && typeof out.message === 'string' && out.message !== '') return out.reason;
  return `exit ${o.code}: ${lines[0]}`;
}

async function verifyAll(args: string[]): Promise<Record<Language, Outcome>> {
  const outcomes = await Promise.all(LANGUAGES.map((l) => runVerifier(l, args)));
  return Object.fromEntries(LANGUAGES.map((l, i) => [l, outcomes[i]])) as Record<Language, Outcome>;
}

/** Every verifier's verdict on the same arguments. */
async function verdicts(args: string[]): Promise<Record<Language, string>> {
  const all = await verifyAll(args);
  return Object.fromEntries(LANGUAGES.map((l) => [l, verdict(all[l])])) as Record<Language, string>;
}

const everyone = (word: string) => Object.fromEntries(LANGUAGES.map((l) => [l, word]));

function writeFile(contents: string | object, name = `file-${++fileCount}.json`): string {
  const path = join(work, 'files', name);
  writeFileSync(path, typeof contents === 'string' ? contents : `${JSON.stringify(contents, null, 2)}\n`);
  return path;
}

function writePem(pem: string): string {
  const path = join(work, `key-${++fileCount}.pem`);
  writeFileSync(path, pem);
  return path;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const segments = (token: string) => token.split('.') as [string, string, string];
const payloadOf = (token: string) => JSON.parse(Buffer.from(segments(token)[1], 'base64url').toString()) as JWTPayload;
/** A minute after the token was issued: the app's clock in most cases. */
const nowFor = (record: { signature: string }) => new Date(((payloadOf(record.signature).iat as number) + 60) * 1000).toISOString();

/** The arguments of an app that expects a RegisterUsage file of PRODUCT, checked at `now`. */
function ruArgs(file: string, o: { now?: string | null; productCode?: string; key?: string; extra?: string[] } = {}): string[] {
  const now = o.now === undefined ? [] : o.now === null ? [] : ['--now', o.now];
  return ['--product-code', o.productCode ?? PRODUCT, '--public-key', o.key ?? emuKeyFile, ...now, ...(o.extra ?? []), file];
}

/** A RegisterUsage file of the sidecar's shape around `record` edited, checked at the file's own time. */
async function ruVerdicts(record: RegisterUsageRecord, o: { productCode?: string; extra?: string[]; now?: string } = {}) {
  return verdicts(ruArgs(writeFile(record), { now: o.now ?? nowFor(record), ...o }));
}

/** A record as the sidecar writes it, around a token of the test's own key. */
function ownRecord(token: string, claims: { productCode?: string; publicKeyVersion?: number; nonce?: string } = {}): RegisterUsageRecord {
  return {
    source: 'register-usage',
    productCode: claims.productCode ?? PRODUCT,
    publicKeyVersion: claims.publicKeyVersion ?? 1,
    nonce: claims.nonce ?? 'n-own-0001',
    signature: token,
    issuedAt: PINNED,
    verifiedAt: PINNED,
    publicKeyRotationTimestamp: null,
  };
}

const OWN_CLAIMS = { productCode: PRODUCT, publicKeyVersion: 1, nonce: 'n-own-0001', iat: PINNED_S };

/** The verdicts on a file around a token signed by the test's own key, verified with that key at PINNED + 60 s. */
async function ownVerdicts(token: string, o: { now?: string | null } = {}) {
  return verdicts(ruArgs(writeFile(ownRecord(token)), { key: ownKeyFile, now: o.now === undefined ? after(60) : o.now }));
}

/** Runs the real sidecar process against the emulator until it has written its entitlement file. */
async function sidecarFile(productCode: string): Promise<RegisterUsageRecord> {
  const dir = mkdtempSync(join(work, 'sidecar-'));
  const p = startCli(['run'], {
    ...sidecarAwsEnv(emu, dir),
    MARKETPLACE_PRODUCT_CODE: productCode,
    MARKETPLACE_PUBLIC_KEY: emuPem,
    ENTITLEMENT_FILE: join(dir, 'entitlement.json'),
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
  });
  await p.waitForLine((l) => l['msg'] === 'entitled', 20_000);
  p.child.kill('SIGTERM');
  expect(await p.exited).toEqual({ code: 0, signal: null });
  const record = JSON.parse(readFileSync(join(dir, 'entitlement.json'), 'utf8')) as RegisterUsageRecord;
  expect(record.source).toBe('register-usage');
  return record;
}

/** Runs the real sidecar in contract mode against the emulator's License Manager, with the issuer's key, until it is entitled. */
async function sidecarLicenseFile(): Promise<LicenseRecord> {
  const dir = mkdtempSync(join(work, 'sidecar-'));
  const file = join(dir, 'entitlement.json');
  const p = startCli(['run'], {
    ...sidecarAwsEnv(emu, dir),
    AWS_ENDPOINT_URL_LICENSE_MANAGER: emu.url,
    ENTITLEMENT_SOURCE: 'license-manager',
    MARKETPLACE_PRODUCT_SKU: CONTRACT_SKU,
    MARKETPLACE_LICENSE_ENTITLEMENTS: 'BasicTier:None,PremiumTier:None',
    MARKETPLACE_LICENSE_PUBLIC_KEY: emu.licenseIssuerPublicKeyPem,
    ENTITLEMENT_FILE: file,
    ENTITLEMENT_LISTEN: '127.0.0.1:0',
  });
  await p.waitForLine((l) => l['msg'] === 'entitled', 20_000);
  const record = JSON.parse(readFileSync(file, 'utf8')) as LicenseRecord;
  p.child.kill('SIGTERM');
  expect(await p.exited).toEqual({ code: 0, signal: null });
  expect(record).toMatchObject({ source: 'license-manager', productSku: CONTRACT_SKU, signedTokenVerified: true });
  return record;
}

async function buildGo(): Promise<void> {
  // GOPATH mode, offline: Debian's golang-jwt source under its v4 import path, the recipe under its module path.
  const gopath = join(work, 'gopath');
  mkdirSync(join(gopath, 'src/github.com/golang-jwt/jwt'), { recursive: true });
  mkdirSync(join(gopath, 'src/example.com'), { recursive: true });
  symlinkSync(GOLANG_JWT, join(gopath, 'src/github.com/golang-jwt/jwt/v4'));
  symlinkSync(join(RECIPES, 'go'), join(gopath, 'src/example.com/entitlement-verify'));
  const env = childEnv({ GOPATH: gopath, GO111MODULE: 'off', GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(work, 'gocache') });
  await run(GO, ['build', '-o', join(work, 'go/verify-entitlement'), 'example.com/entitlement-verify/cmd/verify-entitlement'], { env, cwd: work });
  // (go's ... patterns skip symbolic links: the packages by name)
  await run(GO, ['vet', 'example.com/entitlement-verify/entitlement', 'example.com/entitlement-verify/cmd/verify-entitlement'], { env, cwd: work });
  const { stdout: unformatted } = await run(join(GO, '../gofmt'), ['-l', join(RECIPES, 'go')], { env });
  expect(unformatted, 'gofmt -l').toBe('');
}

async function buildJava(): Promise<void> {
  await run(JAVAC, ['-Xlint:all', '-Werror', '-d', join(work, 'java'), join(RECIPES, 'java/EntitlementVerifier.java')], { env: childEnv() });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'verify-recipes-'));
  mkdirSync(join(work, 'files'));
  own = rsaKeyPair();
  ownPem = own.publicPem;
  issuer = rsaKeyPair();
  issuerPem = issuer.publicPem;
  emu = await startTestEmulator({
    clock: realClock(),
    scenario: { rateLimit: null },
    licenses: [{ beneficiaryAccountId: CRED.accountId, productSku: CONTRACT_SKU, entitlements: [{ name: 'PremiumTier', unit: 'None' }], signed: true }],
  });
  emuPem = emu.publicKeyPem;
  emuKeyFile = writePem(emuPem);
  ownKeyFile = writePem(ownPem);
  [good, otherProduct, contract] = await Promise.all([sidecarFile(PRODUCT), sidecarFile(OTHER_PRODUCT), sidecarLicenseFile(), buildGo(), buildJava()]);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the file the sidecar wrote against the emulator', () => {
  it('is valid in every language, which all report the same entitlement', async () => {
    const all = await verifyAll(ruArgs(writeFile(good), { now: nowFor(good) }));
    for (const language of LANGUAGES) {
      expect(verdict(all[language]), language).toBe('valid');
      expect(JSON.parse(all[language].stdout), language).toEqual({
        valid: true,
        source: 'register-usage',
        productCode: PRODUCT,
        publicKeyVersion: 1,
        issuedAt: good.issuedAt,
        tokenVerified: true,
      });
    }
  });

  it('is valid for the key version the app expects, and public_key_version_mismatch for another', async () => {
    expect(await ruVerdicts(good, { extra: ['--public-key-version', '1'] })).toEqual(everyone('valid'));
    expect(await ruVerdicts(good, { extra: ['--public-key-version', '2'] })).toEqual(everyone('public_key_version_mismatch'));
  });

  it('is product_code_mismatch for an app configured for another product', async () => {
    expect(await ruVerdicts(good, { productCode: OTHER_PRODUCT })).toEqual(everyone('product_code_mismatch'));
  });

  it('is valid without "source" (as files were written before it), and wrong_source for an app that expects License Manager', async () => {
    const { source: _, ...legacy } = good;
    expect(await verdicts(ruArgs(writeFile(legacy), { now: nowFor(good) }))).toEqual(everyone('valid'));
    expect(await verdicts(['--source', 'license-manager', '--product-sku', 'sku-1', '--now', nowFor(good), writeFile(good)])).toEqual(everyone('wrong_source'));
    expect(await verdicts(['--source', 'license-manager', '--product-sku', 'sku-1', '--now', nowFor(good), writeFile(legacy)])).toEqual(everyone('wrong_source'));
  });

  it('is valid verified 4 minutes before its iat (within the 5 minutes of skew), issued_in_future 6 minutes before', async () => {
    const iat = payloadOf(good.signature).iat as number;
    expect(await ruVerdicts(good, { now: new Date((iat - 240) * 1000).toISOString() })).toEqual(everyone('valid'));
    expect(await ruVerdicts(good, { now: new Date((iat - 360) * 1000).toISOString() })).toEqual(everyone('issued_in_future'));
  });
});

describe('files tampered from the one the sidecar wrote', () => {
  it('a flipped signature byte: signature', async () => {
    const [h, p, s] = segments(good.signature);
    const bytes = Buffer.from(s, 'base64url');
    bytes[100] = (bytes[100] as number) ^ 0x01;
    expect(await ruVerdicts({ ...good, signature: `${h}.${p}.${bytes.toString('base64url')}` })).toEqual(everyone('signature'));
  });

  it("a claim edited in the token's payload, and the file to match: signature", async () => {
    const [h, , s] = segments(good.signature);
    const signature = `${h}.${b64({ ...payloadOf(good.signature), nonce: 'n-chosen' })}.${s}`;
    expect(await ruVerdicts({ ...good, nonce: 'n-chosen', signature })).toEqual(everyone('signature'));
  });

  it("the file's nonce edited: nonce_mismatch", async () => {
    expect(await ruVerdicts({ ...good, nonce: `${good.nonce}x` })).toEqual(everyone('nonce_mismatch'));
  });

  it("the file's publicKeyVersion edited: public_key_version_mismatch", async () => {
    expect(await ruVerdicts({ ...good, publicKeyVersion: 2 })).toEqual(everyone('public_key_version_mismatch'));
  });

  it("the file says the app's product, the token another's: product_code_mismatch", async () => {
    expect(await ruVerdicts({ ...good, productCode: OTHER_PRODUCT }, { productCode: OTHER_PRODUCT })).toEqual(everyone('product_code_mismatch'));
  });

  it("another product's valid file, signed by the same key: product_code_mismatch", async () => {
    expect(await ruVerdicts(otherProduct)).toEqual(everyone('product_code_mismatch'));
  });

  it("another product's valid token swapped into this product's file: product_code_mismatch", async () => {
    expect(await ruVerdicts({ ...good, nonce: otherProduct.nonce, signature: otherProduct.signature })).toEqual(everyone('product_code_mismatch'));
  });

  it("the header's alg changed to RS256, PS384 or none (signature dropped): algorithm", async () => {
    const [, p, s] = segments(good.signature);
    for (const [alg, sig] of [['RS256', s], ['PS384', s], ['none', '']] as const) {
      expect(await ruVerdicts({ ...good, signature: `${b64({ alg, typ: 'JWT' })}.${p}.${sig}` }), alg).toEqual(everyone('algorithm'));
    }
  });

  it('HS256 keyed with the public PEM (the algorithm-confusion attack): algorithm', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${segments(good.signature)[1]}`;
    const mac = createHmac('sha256', emuPem).update(input).digest('base64url');
    expect(await ruVerdicts({ ...good, signature: `${input}.${mac}` })).toEqual(everyone('algorithm'));
  });

  it('the signature re-spelled in the unused bits of its last character: malformed', async () => {
    const [h, p, s] = segments(good.signature);
    // 256 bytes are 342 characters: the last carries 2 bits of the signature and 4 unused ones.
    const last = s.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respelled = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(last) ^ 0x01]}`;
    expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(s, 'base64url')); // the same signature, spelled anew
    expect(await ruVerdicts({ ...good, signature: `${h}.${p}.${respelled}` })).toEqual(everyone('malformed'));
  });

  it('a signature of four segments, of padded base64, or of a line break: malformed', async () => {
    const [h, p, s] = segments(good.signature);
    for (const signature of [`${good.signature}.${s}`, `${h}.${p}.${s}==`, `${h}.${p}.${s.slice(0, 100)}\n${s.slice(100)}`, 'not a jwt']) {
      expect(await ruVerdicts({ ...good, signature }, { now: nowFor(good) }), signature.slice(-20)).toEqual(everyone('malformed'));
    }
  });

  it('not JSON, JSON null, an array nested 30,000 deep, a file without signature, an unknown source: malformed', async () => {
    const { signature: _, ...unsigned } = good;
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    for (const contents of ['{"productCode": "prod-abc123",', 'null', deep, unsigned, { ...good, source: 'free-tier' }, { ...good, source: null }]) {
      expect(await verdicts(ruArgs(writeFile(contents), { now: nowFor(good) })), JSON.stringify(contents).slice(0, 40)).toEqual(everyone('malformed'));
    }
  });

  it('no file, a symbolic link, a FIFO, a directory, a file over 64 KiB: unreadable, without blocking', async () => {
    const dir = join(work, 'files');
    const link = join(dir, 'link.json');
    symlinkSync(writeFile(good), link);
    const fifo = join(dir, 'fifo.json');
    await run('mkfifo', [fifo]);
    const large = writeFile(`${JSON.stringify(good)}${' '.repeat(64 * 1024)}`);
    for (const path of [join(dir, 'absent.json'), link, fifo, dir, large]) {
      expect(await verdicts(ruArgs(path, { now: nowFor(good) })), path).toEqual(everyone('unreadable'));
    }
  });
});

describe('tokens the emulator minted defective, in files of the sidecar\'s shape', () => {
  const EXPECTED: Record<BadToken, string> = {
    'tampered-signature': 'signature',
    'wrong-nonce': 'nonce_mismatch',
    'wrong-product-code': 'product_code_mismatch',
    'wrong-key-version': 'public_key_version_mismatch',
    'alg-none': 'algorithm',
    rs256: 'algorithm',
    'hs256-public-key': 'algorithm',
    'foreign-key': 'signature',
    'future-iat': 'issued_in_future',
    'missing-claims': 'claims_missing',
    'pascal-case-claims': 'valid',
  };

  for (const bad of BAD_TOKENS) {
    it(`${bad}: ${EXPECTED[bad]}`, async () => {
      emu.setScenario({ badToken: bad });
      const nonce = randomBytes(24).toString('base64url');
      const at = new Date();
      const { Signature } = await register(meteringClient(emu), { ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: nonce });
      emu.setScenario({ badToken: null });
      const file = join(work, 'files', `${bad}.json`);
      await writeEntitlement(file, { source: 'register-usage', productCode: PRODUCT, publicKeyVersion: 1, nonce, signature: Signature as string, issuedAt: at.toISOString(), verifiedAt: at.toISOString(), publicKeyRotationTimestamp: null });
      expect(await verdicts(ruArgs(file, { now: new Date(at.getTime() + 60_000).toISOString() }))).toEqual(everyone(EXPECTED[bad]));
    });
  }
});

describe('tokens signed with a key of the test\'s own', () => {
  it('both spellings of a claim, agreeing: valid; disagreeing: claims_conflict', async () => {
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, ProductCode: PRODUCT, Nonce: OWN_CLAIMS.nonce }))).toEqual(everyone('valid'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, ProductCode: OTHER_PRODUCT }))).toEqual(everyone('claims_conflict'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, PublicKeyVersion: 2 }))).toEqual(everyone('claims_conflict'));
  });

  it('a publicKeyVersion of "1" (a numeric string): valid; of 1.5 or "one": claims_invalid', async () => {
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, publicKeyVersion: '1' }))).toEqual(everyone('valid'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, publicKeyVersion: 1.5 }))).toEqual(everyone('claims_invalid'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, publicKeyVersion: 'one' }))).toEqual(everyone('claims_invalid'));
  });

  it('an iat that is a string: claims_invalid; no iat at all: valid, reported as null', async () => {
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, iat: String(PINNED_S) as unknown as number }))).toEqual(everyone('claims_invalid'));
    const { iat: _, ...noIat } = OWN_CLAIMS;
    const all = await verifyAll(ruArgs(writeFile(ownRecord(await mintToken(own.privateKey, noIat))), { key: ownKeyFile, now: after(60) }));
    for (const language of LANGUAGES) expect(JSON.parse(all[language].stdout), language).toMatchObject({ valid: true, issuedAt: null });
  });

  it('an exp that has passed or an nbf still ahead: expired', async () => {
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, exp: PINNED_S + 60 }))).toEqual(everyone('expired'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, exp: PINNED_S + 61 }))).toEqual(everyone('valid'));
    expect(await ownVerdicts(await mintToken(own.privateKey, { ...OWN_CLAIMS, nbf: PINNED_S + 120 }))).toEqual(everyone('expired'));
  });

  it('an iat 10 minutes ahead of the app\'s clock: issued_in_future; 4 minutes ahead: valid', async () => {
    const token = await mintToken(own.privateKey, { ...OWN_CLAIMS, iat: PINNED_S + 600 });
    expect(await ownVerdicts(token, { now: PINNED })).toEqual(everyone('issued_in_future'));
    expect(await ownVerdicts(token, { now: after(360) })).toEqual(everyone('valid'));
  });

  it('on the machine\'s clock (no --now): an iat in 2020 is valid, one in 2200 issued_in_future', async () => {
    const at = (iso: string) => mintToken(own.privateKey, { ...OWN_CLAIMS, iat: Date.parse(iso) / 1000 });
    expect(await ownVerdicts(await at('2020-01-01T00:00:00Z'), { now: null })).toEqual(everyone('valid'));
    expect(await ownVerdicts(await at('2200-01-01T00:00:00Z'), { now: null })).toEqual(everyone('issued_in_future'));
  });

  it('a PSS signature with a salt of 0 or 64 bytes (RFC 7518 says 32; golang-jwt v4 takes any): signature', async () => {
    const input = `${b64({ alg: 'PS256', typ: 'JWT' })}.${b64(OWN_CLAIMS)}`;
    for (const saltLength of [0, 64]) {
      const sig = sign('sha256', Buffer.from(input), { key: own.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
      expect(await ownVerdicts(`${input}.${sig.toString('base64url')}`), `salt ${saltLength}`).toEqual(everyone('signature'));
    }
    const sig32 = sign('sha256', Buffer.from(input), { key: own.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    expect(await ownVerdicts(`${input}.${sig32.toString('base64url')}`)).toEqual(everyone('valid'));
  });

  it('a PS256 header over an RS256 (PKCS#1 v1.5) signature: signature', async () => {
    const input = `${b64({ alg: 'PS256', typ: 'JWT' })}.${b64(OWN_CLAIMS)}`;
    const sig = createSign('sha256').update(input).sign(own.privateKey).toString('base64url');
    expect(await ownVerdicts(`${input}.${sig}`)).toEqual(everyone('signature'));
  });
});

describe('the License Manager file the sidecar wrote against the emulator (a signed license, the issuer key configured)', () => {
  /** The app's clock: a minute after License Manager confirmed the license. */
  const at = () => new Date(Date.parse(contract.checkedAt) + 60_000).toISOString();
  let issuerFile: string;
  /** The arguments of an app of CONTRACT_SKU with the emulator's issuer key (`issuerKey: null`: none). */
  const args = (file: string, o: { sku?: string; issuerKey?: string | null; now?: string } = {}) => {
    const key = o.issuerKey === undefined ? issuerFile : o.issuerKey;
    return ['--source', 'license-manager', '--product-sku', o.sku ?? CONTRACT_SKU, ...(key === null ? [] : ['--issuer-key', key]), '--now', o.now ?? at(), file];
  };
  beforeAll(() => {
    issuerFile = writePem(emu.licenseIssuerPublicKeyPem);
  });

  it('carries the emulator\'s SignedToken, with AWS\'s sample claims and no product claim', () => {
    const claims = payloadOf(contract.signedToken as string);
    expect(claims).toMatchObject({ licenseArn: contract.licenseArn, checkoutType: 'PROVISIONAL' });
    expect(Object.keys(claims)).not.toEqual(expect.arrayContaining(['productSku']));
    expect(Object.keys(claims)).not.toEqual(expect.arrayContaining(['ProductSKU']));
  });

  it('is valid in every language with the issuer key, tokenVerified, all reporting the same license', async () => {
    const all = await verifyAll(args(writeFile(contract)));
    for (const language of LANGUAGES) {
      expect(verdict(all[language]), language).toBe('valid');
      expect(JSON.parse(all[language].stdout), language).toEqual({
        valid: true,
        source: 'license-manager',
        productSku: CONTRACT_SKU,
        licenseArn: contract.licenseArn,
        checkoutType: contract.checkoutType,
        entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
        issuedAt: contract.issuedAt,
        expiration: contract.expiration,
        stale: false,
        tokenVerified: true,
      });
    }
    const unverified = await verifyAll(args(writeFile(contract), { issuerKey: null }));
    for (const language of LANGUAGES) expect(JSON.parse(unverified[language].stdout), language).toMatchObject({ valid: true, tokenVerified: false });
  });

  it('at its expiration: expired; for an app of another SKU: product_sku_mismatch; with the test\'s key as issuer key: signature', async () => {
    expect(await verdicts(args(writeFile(contract), { now: contract.expiration }))).toEqual(everyone('expired'));
    expect(await verdicts(args(writeFile(contract), { sku: '00000000-0000-4000-8000-000000000000' }))).toEqual(everyone('product_sku_mismatch'));
    expect(await verdicts(args(writeFile(contract), { issuerKey: writePem(issuerPem) }))).toEqual(everyone('signature'));
  });

  it('tampered: its licenseArn edited, license_arn_mismatch; its token\'s signature flipped, signature; its token dropped, signed_token_missing', async () => {
    expect(await verdicts(args(writeFile({ ...contract, licenseArn: `${contract.licenseArn}0` })))).toEqual(everyone('license_arn_mismatch'));
    const [h, p, sig] = segments(contract.signedToken as string);
    const bytes = Buffer.from(sig, 'base64url');
    bytes[10] = (bytes[10] as number) ^ 0x01;
    expect(await verdicts(args(writeFile({ ...contract, signedToken: `${h}.${p}.${bytes.toString('base64url')}` })))).toEqual(everyone('signature'));
    expect(await verdicts(args(writeFile({ ...contract, signedToken: null })))).toEqual(everyone('signed_token_missing'));
  });
});

describe('License Manager files of the sidecar\'s LicenseRecord shape, written here', () => {
  const FINGERPRINT = 'aws:294406891311:AWS/Marketplace:issuer-fingerprint';
  /** examples/verify/testdata/license-manager.json, typed as the sidecar writes it (src/entitlement/file.ts). */
  const FIXTURE: LicenseRecord = {
    source: 'license-manager',
    productSku: '6b4f0d5e-4a8c-4f7e-9c1d-2e3f4a5b6c7d',
    licenseArn: 'arn:aws:license-manager::294406891311:license:l-0123456789abcdef0123456789abcdef',
    checkoutType: 'PROVISIONAL',
    keyFingerprint: FINGERPRINT,
    entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
    issuedAt: '2026-12-01T10:00:00.000Z',
    expiration: '2026-12-01T11:00:00.000Z',
    checkedAt: '2026-12-01T10:00:00.000Z',
    stale: false,
    signedToken: null,
    signedTokenVerified: false,
  };
  const SKU = FIXTURE.productSku;
  const ARN = FIXTURE.licenseArn;
  const NOW = '2026-12-01T10:30:00Z';
  const NOW_S = Date.parse(NOW) / 1000;
  const lmArgs = (file: string, extra: string[] = [], sku = SKU) => ['--source', 'license-manager', '--product-sku', sku, '--now', NOW, ...extra, file];
  /** The fixture with `edits` (a field set to undefined is left out), as each verifier sees it. */
  const lm = (edits: Record<string, unknown> = {}, extra: string[] = []) => verdicts(lmArgs(writeFile({ ...FIXTURE, ...edits }), extra));
  /** A SignedToken of the issuer's key (PS384), with exactly `claims`: no iat unless given, as AWS's sample token. */
  const signed = (claims: JWTPayload, alg = 'PS384', key = issuer.privateKey) => mintToken(key, claims, alg);
  let issuerKeyFile: string;
  const withIssuer = () => ['--issuer-key', issuerKeyFile];
  /** The verdicts on the fixture carrying `token`, with the issuer key configured. */
  const tokenVerdicts = async (token: string | Promise<string>) => lm({ signedToken: await token, signedTokenVerified: true }, withIssuer());
  beforeAll(() => {
    issuerKeyFile = writePem(issuerPem);
  });

  it('testdata/license-manager.json is that record, and the recipes pin the library\'s issuer fingerprint', () => {
    expect(JSON.parse(readFileSync(join(RECIPES, 'testdata/license-manager.json'), 'utf8'))).toEqual(FIXTURE);
    expect(AWS_MARKETPLACE_KEY_FINGERPRINT).toBe(FINGERPRINT);
  });

  it('is valid and reports its tier, expiration and staleness, not cryptographically verified', async () => {
    const all = await verifyAll(lmArgs(writeFile(FIXTURE)));
    for (const language of LANGUAGES) {
      expect(verdict(all[language]), language).toBe('valid');
      expect(JSON.parse(all[language].stdout), language).toEqual({
        valid: true,
        source: 'license-manager',
        productSku: SKU,
        licenseArn: ARN,
        checkoutType: 'PROVISIONAL',
        entitlements: [{ name: 'PremiumTier', unit: 'None', value: null }],
        issuedAt: '2026-12-01T10:00:00.000Z',
        expiration: '2026-12-01T11:00:00.000Z',
        stale: false,
        tokenVerified: false,
      });
    }
  });

  it('stale (the sidecar could not re-check, within its grace period), PERPETUAL, a quantity: valid, reported as such', async () => {
    const all = await verifyAll(lmArgs(writeFile({ ...FIXTURE, stale: true, checkoutType: 'PERPETUAL', entitlements: [{ name: 'Seats', unit: 'Count', value: '10' }] })));
    for (const language of LANGUAGES) {
      expect(JSON.parse(all[language].stdout), language).toMatchObject({ valid: true, stale: true, checkoutType: 'PERPETUAL', entitlements: [{ name: 'Seats', unit: 'Count', value: '10' }] });
    }
  });

  it('past its expiration (until when the sidecar vouches for the license), PROVISIONAL or PERPETUAL: expired', async () => {
    for (const checkoutType of ['PROVISIONAL', 'PERPETUAL']) {
      expect(await lm({ checkoutType, expiration: '2026-12-01T10:30:00.000Z' }), checkoutType).toEqual(everyone('expired'));
      expect(await lm({ checkoutType, expiration: '2026-12-01T10:30:00.001Z' }), checkoutType).toEqual(everyone('valid'));
    }
    // A perpetual license's seat does not end, but the file's word on it does: the sidecar is gone.
    expect(await lm({ checkoutType: 'PERPETUAL', expiration: '2026-12-01T09:30:00.000Z', stale: true })).toEqual(everyone('expired'));
  });

  it('for another product SKU than the app\'s: product_sku_mismatch', async () => {
    expect(await lm({ productSku: '00000000-0000-4000-8000-000000000000' })).toEqual(everyone('product_sku_mismatch'));
  });

  it('a license not issued by AWS Marketplace (another key fingerprint, or an empty one): key_fingerprint_mismatch', async () => {
    expect(await lm({ keyFingerprint: 'aws:111122223333:Buyer/Self:issuer-fingerprint' })).toEqual(everyone('key_fingerprint_mismatch'));
    expect(await lm({ keyFingerprint: '' })).toEqual(everyone('key_fingerprint_mismatch'));
  });

  it('the SKU is checked before the fingerprint, the fingerprint before the expiration', async () => {
    expect(await lm({ productSku: 'another', keyFingerprint: 'x', expiration: '2020-01-01T00:00:00Z' })).toEqual(everyone('product_sku_mismatch'));
    expect(await lm({ keyFingerprint: 'x', expiration: '2020-01-01T00:00:00Z' })).toEqual(everyone('key_fingerprint_mismatch'));
  });

  it('read by an app that expects a RegisterUsage file: wrong_source', async () => {
    expect(await verdicts(ruArgs(writeFile(FIXTURE), { now: NOW }))).toEqual(everyone('wrong_source'));
  });

  const long = (n: number, c = 'a') => c.repeat(n);
  const entitlement = { name: 'PremiumTier', unit: 'None', value: null };
  const MALFORMED: [string, Record<string, unknown>][] = [
    ['no productSku', { productSku: undefined }],
    ['an empty productSku', { productSku: '' }],
    ['a productSku of 2049 characters', { productSku: long(2049) }],
    ['no licenseArn', { licenseArn: undefined }],
    ['an empty licenseArn', { licenseArn: '' }],
    ['a licenseArn of 2049 characters', { licenseArn: long(2049) }],
    ['a licenseArn that is a number', { licenseArn: 7 }],
    ['no checkoutType', { checkoutType: undefined }],
    ['checkoutType FLOATING', { checkoutType: 'FLOATING' }],
    ['checkoutType in lower case', { checkoutType: 'provisional' }],
    ['checkoutType null', { checkoutType: null }],
    ['no keyFingerprint', { keyFingerprint: undefined }],
    ['keyFingerprint null', { keyFingerprint: null }],
    ['no entitlements', { entitlements: undefined }],
    ['no entitlement in the list', { entitlements: [] }],
    ['101 entitlements', { entitlements: Array.from({ length: 101 }, (_, i) => ({ ...entitlement, name: `E${i}` })) }],
    ['entitlements that are an object', { entitlements: entitlement }],
    ['an entitlement that is null', { entitlements: [null] }],
    ['an entitlement that is an array', { entitlements: [['PremiumTier', 'None', null]] }],
    ['an entitlement without name', { entitlements: [{ unit: 'None', value: null }] }],
    ['an empty entitlement name', { entitlements: [{ ...entitlement, name: '' }] }],
    ['an entitlement name of 256 UTF-16 code units (128 emoji)', { entitlements: [{ ...entitlement, name: long(128, '\u{1F600}') }] }],
    ['an entitlement without unit', { entitlements: [{ name: 'PremiumTier', value: null }] }],
    ['an entitlement unit of 65 characters', { entitlements: [{ ...entitlement, unit: long(65) }] }],
    ['an entitlement without value (a tier says null)', { entitlements: [{ name: 'PremiumTier', unit: 'None' }] }],
    ['an empty entitlement value', { entitlements: [{ ...entitlement, value: '' }] }],
    ['an entitlement value of 65 characters', { entitlements: [{ ...entitlement, value: long(65, '9') }] }],
    ['an entitlement value that is a number', { entitlements: [{ name: 'Seats', unit: 'Count', value: 10 }] }],
    ['no checkedAt', { checkedAt: undefined }],
    ['a checkedAt that is no time', { checkedAt: 'yesterday' }],
    ['a checkedAt with a space for T', { checkedAt: '2026-12-01 10:00:00Z' }],
    ['a checkedAt without a zone', { checkedAt: '2026-12-01T10:00:00' }],
    ['a checkedAt in HTTP form', { checkedAt: 'Tue, 01 Dec 2026 10:00:00 GMT' }],
    ['a checkedAt that is epoch milliseconds', { checkedAt: 1796119200000 }],
    ['a checkedAt in month 13', { checkedAt: '2026-13-01T10:00:00Z' }],
    ['a checkedAt on day 32', { checkedAt: '2026-12-32T10:00:00Z' }],
    ['a checkedAt at 24:00:01', { checkedAt: '2026-12-01T24:00:01Z' }],
    ['a checkedAt with a leap second', { checkedAt: '2026-12-31T23:59:60Z' }],
    ['a checkedAt with an offset of 24 hours', { checkedAt: '2026-12-01T10:00:00+24:00' }],
    ['a checkedAt in Arabic-Indic digits', { checkedAt: '\u0662\u0660\u0662\u0666-12-01T10:00:00Z' }],
    ['no expiration', { expiration: undefined }],
    ['an expiration that is no time', { expiration: 'tomorrow' }],
    ['no stale', { stale: undefined }],
    ['stale as a string', { stale: 'false' }],
    ['stale null', { stale: null }],
    ['stale as 0', { stale: 0 }],
    ['no signedToken (null says there is none)', { signedToken: undefined }],
    ['a signedToken that is a number', { signedToken: 5 }],
    ['a signedToken that is an object', { signedToken: { alg: 'PS384' } }],
  ];
  it.each(MALFORMED)('%s: malformed', async (_name, edits) => {
    expect(await lm(edits)).toEqual(everyone('malformed'));
  });

  it('at the limits: 100 entitlements, a name of 255 UTF-16 code units, a unit and value of 64, a SKU and ARN of 2048: valid', async () => {
    expect(await lm({ entitlements: Array.from({ length: 100 }, (_, i) => ({ ...entitlement, name: `E${i}` })) })).toEqual(everyone('valid'));
    expect(await lm({ entitlements: [{ name: `${long(127, '\u{1F600}')}x`, unit: long(64), value: long(64, '9') }] })).toEqual(everyone('valid'));
    const sku = long(2048, 's');
    expect(await verdicts(lmArgs(writeFile({ ...FIXTURE, productSku: sku, licenseArn: long(2048) }), [], sku))).toEqual(everyone('valid'));
  });

  it('instants read as the library reads them (JavaScript\'s Date.parse): case, offsets, milliseconds, and its calendar', async () => {
    const instants = [
      '2026-12-01t11:00:00z',
      '2026-12-01T16:30:00+05:30',
      '2026-12-01T01:00:00-09:59',
      '2026-12-01T11:00:00.123456789Z',
      '2026-12-01T11:00:00.5Z',
      // Date.parse takes day 31 of any month and 24:00:00; RFC 3339 does not (see examples/verify/README.md).
      '2026-11-31T11:00:00Z',
      '2026-12-01T24:00:00.000Z',
    ];
    for (const expiration of instants) {
      const all = await verifyAll(lmArgs(writeFile({ ...FIXTURE, expiration, checkedAt: expiration })));
      const library = new Date(Date.parse(expiration)).toISOString();
      for (const language of LANGUAGES) expect(JSON.parse(all[language].stdout), `${language} ${expiration}`).toMatchObject({ valid: true, expiration: library });
    }
    // The fraction is cut to milliseconds, not rounded: 10:30:00.0009 is 10:30:00.000, the app's now.
    expect(await lm({ expiration: '2026-12-01T10:30:00.0009Z' })).toEqual(everyone('expired'));
  });

  describe('with the issuer key configured: the SignedToken', () => {
    /** The claims the project's emulator signs, as AWS's sample token carries them: no product claim, no iat or exp. */
    const SAMPLE = {
      licenseArn: ARN,
      licenseConsumptionToken: 'lct-0123456789abcdef',
      entitlementsAllowed: [{ name: 'PremiumTier', unit: 'None' }],
      nodeId: 'pod-0123',
      checkoutType: 'PROVISIONAL',
      issuedAt: '2026-12-01T10:00:00',
      expiration: '2026-12-01T11:00:00',
    };

    it('with the claims of AWS\'s sample token (licenseArn, no product claim): valid, tokenVerified; without the key only reported', async () => {
      const signedToken = await signed(SAMPLE);
      const all = await verifyAll(lmArgs(writeFile({ ...FIXTURE, signedToken, signedTokenVerified: true }), withIssuer()));
      for (const language of LANGUAGES) expect(JSON.parse(all[language].stdout), language).toMatchObject({ valid: true, tokenVerified: true });
      const unverified = await verifyAll(lmArgs(writeFile({ ...FIXTURE, signedToken, signedTokenVerified: true })));
      for (const language of LANGUAGES) expect(JSON.parse(unverified[language].stdout), language).toMatchObject({ valid: true, tokenVerified: false });
    });

    const CASES: [string, () => Promise<string>, string][] = [
      ['licenseArn alone', () => signed({ licenseArn: ARN }), 'valid'],
      ['LicenseArn (PascalCase) alone', () => signed({ LicenseArn: ARN }), 'valid'],
      ['both spellings of licenseArn, agreeing', () => signed({ licenseArn: ARN, LicenseArn: ARN }), 'valid'],
      ['a productSku claim equal to the file\'s', () => signed({ licenseArn: ARN, productSku: SKU }), 'valid'],
      ['a ProductSKU claim equal to the file\'s', () => signed({ licenseArn: ARN, ProductSKU: SKU }), 'valid'],
      ['an iat half an hour ago, an exp ahead', () => signed({ licenseArn: ARN, iat: NOW_S - 1800, exp: NOW_S + 1 }), 'valid'],
      ['an iat 4 minutes ahead (within the 5 minutes of skew)', () => signed({ licenseArn: ARN, iat: NOW_S + 240 }), 'valid'],
      ['no licenseArn', () => signed({ productSku: SKU }), 'claims_missing'],
      ['no claims at all', () => signed({}), 'claims_missing'],
      ['no licenseArn and another product (the license is checked first)', () => signed({ productSku: 'another' }), 'claims_missing'],
      ['another license', () => signed({ licenseArn: `${ARN}0` }), 'license_arn_mismatch'],
      ['another license and another product (the license is checked first)', () => signed({ licenseArn: `${ARN}0`, productSku: 'another' }), 'license_arn_mismatch'],
      ['a productSku claim for another product', () => signed({ ...SAMPLE, productSku: 'another' }), 'product_sku_mismatch'],
      ['a ProductSKU claim for another product', () => signed({ licenseArn: ARN, ProductSKU: 'another' }), 'product_sku_mismatch'],
      ['a product claim that is a number', () => signed({ licenseArn: ARN, productSku: 7 }), 'product_sku_mismatch'],
      ['licenseArn and LicenseArn disagreeing', () => signed({ licenseArn: ARN, LicenseArn: `${ARN}0` }), 'claims_conflict'],
      ['productSku and ProductSKU disagreeing', () => signed({ licenseArn: ARN, productSku: SKU, ProductSKU: 'another' }), 'claims_conflict'],
      ['a licenseArn that is a number', () => signed({ licenseArn: 7 }), 'claims_invalid'],
      // As the library reads claims (`camel ?? pascal`): a camelCase null is no claim, a PascalCase null a value.
      ['licenseArn null', () => signed({ licenseArn: null }), 'claims_missing'],
      ['LicenseArn null', () => signed({ LicenseArn: null }), 'claims_invalid'],
      ['licenseArn null, LicenseArn the license', () => signed({ licenseArn: null, LicenseArn: ARN }), 'claims_conflict'],
      ['productSku null', () => signed({ licenseArn: ARN, productSku: null }), 'valid'],
      ['ProductSKU null', () => signed({ licenseArn: ARN, ProductSKU: null }), 'product_sku_mismatch'],
      ['an iat 10 minutes ahead', () => signed({ licenseArn: ARN, iat: NOW_S + 600 }), 'issued_in_future'],
      ['an iat 10 minutes ahead for another product (the claims are checked first)', () => signed({ licenseArn: ARN, productSku: 'another', iat: NOW_S + 600 }), 'product_sku_mismatch'],
      ['an iat that is a string', () => signed({ licenseArn: ARN, iat: String(NOW_S) as unknown as number }), 'claims_invalid'],
      ['an iat no Date can hold', () => signed({ licenseArn: ARN, iat: 1e300 }), 'claims_invalid'],
      ['an exp that has passed', () => signed({ licenseArn: ARN, exp: NOW_S }), 'expired'],
      ['an nbf still ahead', () => signed({ licenseArn: ARN, nbf: NOW_S + 60 }), 'expired'],
      ['an exp passed, for another license (exp and nbf are checked first)', () => signed({ licenseArn: `${ARN}0`, exp: NOW_S - 60 }), 'expired'],
      ['PS256', () => signed({ licenseArn: ARN }, 'PS256'), 'algorithm'],
      ['RS384', () => signed({ licenseArn: ARN }, 'RS384'), 'algorithm'],
      ['alg none', async () => `${b64({ alg: 'none' })}.${b64({ licenseArn: ARN })}.`, 'algorithm'],
      ['signed by another key', () => signed({ licenseArn: ARN }, 'PS384', own.privateKey), 'signature'],
      ['not a JWT', async () => 'not a jwt', 'malformed'],
      ['an empty string', async () => '', 'malformed'],
    ];
    it.each(CASES)('%s: %s', async (_name, token, expected) => {
      expect(await tokenVerdicts(token())).toEqual(everyone(expected));
    });

    it('PSS with the salt of SHA-384 (48 bytes): valid; with 0 or 64: signature', async () => {
      const input = `${b64({ alg: 'PS384', typ: 'JWT' })}.${b64({ licenseArn: ARN })}`;
      for (const [saltLength, expected] of [[48, 'valid'], [0, 'signature'], [64, 'signature']] as const) {
        const sig = sign('sha384', Buffer.from(input), { key: issuer.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength });
        expect(await tokenVerdicts(`${input}.${sig.toString('base64url')}`), `salt ${saltLength}`).toEqual(everyone(expected));
      }
    });

    it('its signature re-spelled in the unused bits of the last character: malformed', async () => {
      const [h, p, s] = segments(await signed({ licenseArn: ARN }));
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const respelled = `${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1) as string) ^ 0x01]}`;
      expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(s, 'base64url'));
      expect(await tokenVerdicts(`${h}.${p}.${respelled}`)).toEqual(everyone('malformed'));
    });

    it('none in the file (signedToken null): signed_token_missing', async () => {
      expect(await lm({}, withIssuer())).toEqual(everyone('signed_token_missing'));
    });
  });
});

describe('bad arguments: exit 2, nothing on stdout', () => {
  it('no file, no product code, an unknown flag, a --now that is no time, a key version of 0, a 1024-bit key, no key file', async () => {
    const file = writeFile(good);
    const weak = writePem(rsaKeyPair(1024).publicPem);
    const cases = [
      ['--product-code', PRODUCT, '--public-key', emuKeyFile],
      ['--public-key', emuKeyFile, file],
      ['--product-code', PRODUCT, '--public-key', emuKeyFile, '--colour', 'red', file],
      ['--product-code', PRODUCT, '--public-key', emuKeyFile, '--now', 'yesterday', file],
      ['--product-code', PRODUCT, '--public-key', emuKeyFile, '--public-key-version', '0', file],
      ['--product-code', PRODUCT, '--public-key', weak, file],
      ['--product-code', PRODUCT, '--public-key', join(work, 'absent.pem'), file],
      ['--source', 'license-manager', file],
    ];
    for (const args of cases) {
      const all = await verifyAll(args);
      for (const language of LANGUAGES) {
        expect({ code: all[language].code, stdout: all[language].stdout }, `${language} ${args.join(' ')}`).toEqual({ code: 2, stdout: '' });
        expect(all[language].stderr, language).not.toBe('');
      }
    }
  });
});
