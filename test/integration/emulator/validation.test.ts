import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { meteringClient, PRODUCT, register, rejection, signedRequest, startTestEmulator } from '../../helpers/emulator-requests.js';
import type { TestEmulator } from '../../helpers/emulator-requests.js';

describe('input validation, as AWS JSON services answer it', () => {
  let emulator: TestEmulator;
  beforeAll(async () => {
    emulator = await startTestEmulator({ scenario: { rateLimit: null } });
  });
  afterAll(() => emulator.close());

  const send = async (body: unknown): Promise<{ status: number; type: unknown; message: unknown }> => {
    const res = await signedRequest(emulator, { body: typeof body === 'string' ? body : JSON.stringify(body) });
    const json = res.json();
    expect(res.headers['x-amzn-errortype']).toBe(json['__type']);
    return { status: res.status, type: json['__type'], message: json['message'] };
  };

  it('lists every missing required member and counts them', async () => {
    expect(await send({})).toEqual({
      status: 400,
      type: 'ValidationException',
      message:
        "2 validation errors detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null; " +
        "Value null at 'publicKeyVersion' failed to satisfy constraint: Member must not be null",
    });
  });

  it('treats an explicit null like a missing member', async () => {
    expect((await send({ ProductCode: null, PublicKeyVersion: 1 })).message).toBe(
      "1 validation error detected: Value null at 'productCode' failed to satisfy constraint: Member must not be null",
    );
  });

  it.each([
    [{ ProductCode: '', PublicKeyVersion: 1 }, "Value '' at 'productCode' failed to satisfy constraint: Member must have length greater than or equal to 1"],
    [{ ProductCode: 'prod code!', PublicKeyVersion: 1 }, "Value 'prod code!' at 'productCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[-a-zA-Z0-9/=:_.@]*$"],
    [{ ProductCode: 'p'.repeat(256), PublicKeyVersion: 1 }, `Value '${'p'.repeat(256)}' at 'productCode' failed to satisfy constraint: Member must have length less than or equal to 255`],
    [{ ProductCode: PRODUCT, PublicKeyVersion: 0 }, "Value '0' at 'publicKeyVersion' failed to satisfy constraint: Member must have value greater than or equal to 1"],
    [{ ProductCode: PRODUCT, PublicKeyVersion: 1, Nonce: 'n'.repeat(256) }, `Value '${'n'.repeat(256)}' at 'nonce' failed to satisfy constraint: Member must have length less than or equal to 255`],
  ])('reports a broken constraint: %j', async (body, problem) => {
    expect(await send(body)).toEqual({ status: 400, type: 'ValidationException', message: `1 validation error detected: ${problem}` });
  });

  it('reports several broken constraints in one answer', async () => {
    const { message } = await send({ ProductCode: 'a b', PublicKeyVersion: -1, Nonce: 'x'.repeat(300) });
    expect(message).toMatch(/^3 validation errors detected: Value 'a b' at 'productCode' .*; Value '-1' at 'publicKeyVersion' .*; Value 'x+' at 'nonce' /);
  });

  it.each([
    [{ ProductCode: PRODUCT, PublicKeyVersion: '1' }, 'STRING_VALUE can not be converted to an Integer'],
    [{ ProductCode: 42, PublicKeyVersion: 1 }, 'NUMBER_VALUE can not be converted to a String'],
    [{ ProductCode: PRODUCT, PublicKeyVersion: 1.5 }, 'NUMBER_VALUE 1.5 of PublicKeyVersion can not be converted to an Integer'],
    [{ ProductCode: { code: PRODUCT }, PublicKeyVersion: 1 }, 'Start of structure or map found where not expected.'],
    ['{"ProductCode": ', 'The request body is not valid JSON.'],
    ['[]', 'Start of list found where not expected'],
  ])('answers SerializationException for a body that cannot be read into the shape: %j', async (body, message) => {
    expect(await send(body)).toEqual({ status: 400, type: 'SerializationException', message });
  });

  it('ignores members the model does not have', async () => {
    const res = await signedRequest(emulator, { body: JSON.stringify({ ProductCode: PRODUCT, PublicKeyVersion: 1, CustomerIdentifier: 'x' }) });
    expect(res.status).toBe(200);
  });

  it('the SDK does not pre-validate, so a bad key version reaches the emulator and surfaces as ValidationException', async () => {
    const err = await rejection(register(meteringClient(emulator), { PublicKeyVersion: 0 }));
    expect(err.name).toBe('ValidationException');
    expect(err.message).toContain("at 'publicKeyVersion'");
    expect(emulator.state().counts['RegisterUsage']?.['ValidationException']).toBeGreaterThanOrEqual(1);
  });
});
