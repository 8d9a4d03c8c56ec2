/**
 * AWS JSON 1.1 on the wire: the input is the JSON body (validate.ts), answers are JSON, errors are
 * `{"__type", <message key>, ...members}` with the code in `x-amzn-errortype` too (the SDK v3 and
 * botocore read either, so both are sent and always agree).
 */
import type { Answer } from '../shared/http.js';
import type { JsonProtocol } from './service.js';
import { readInput } from './validate.js';
import type { WireForm } from './wire-form.js';

export const JSON_11 = 'application/x-amz-json-1.1';

export function jsonWireForm(protocol: Pick<JsonProtocol, 'errorMessageKey'>): WireForm {
  return {
    readInput: (shape, wire) => readInput(shape, wire.body),
    success: (_operation, result, requestId): Answer => ({
      status: 200,
      headers: { 'content-type': JSON_11, 'x-amzn-requestid': requestId },
      body: JSON.stringify(result),
    }),
    failure: (error, requestId): Answer => ({
      status: error.status,
      headers: { ...error.headers, 'content-type': JSON_11, 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
      body: error.body(protocol.errorMessageKey),
    }),
  };
}
