/**
 * How a protocol reads a request's input and writes answers: AWS JSON 1.1 (json-protocol.ts) or AWS
 * Query (query-protocol.ts). The pipeline (api.ts) is the same for both; only these three steps
 * differ.
 */
import type { Answer } from '../shared/http.js';
import type { ApiError } from './errors.js';
import type { WireRequest } from './sigv4.js';
import type { ShapeSpec } from './validate.js';

export interface WireForm {
  /** The operation's input, read into its shape and checked, or the ApiError AWS answers. */
  readInput(shape: ShapeSpec, wire: WireRequest): Record<string, unknown>;
  success(operation: string, result: Record<string, unknown>, requestId: string): Answer;
  failure(error: ApiError, requestId: string): Answer;
}
