/** AssumeRoleWithWebIdentity's input, from botocore's sts 2011-06-15 model. */
import type { ShapeSpec } from '../validate.js';

/** The model's arnType pattern (any printable character), in the form JavaScript's `u` flag reads. */
const ARN_CHARACTERS = '[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u{10000}-\\u{10FFFF}]+';
const ARN = { type: 'string', min: 20, max: 2048, pattern: ARN_CHARACTERS } as const;

export const ASSUME_ROLE_WITH_WEB_IDENTITY_INPUT = {
  RoleArn: { ...ARN, required: true },
  RoleSessionName: { type: 'string', required: true, min: 2, max: 64, pattern: '[\\w+=,.@-]*' },
  WebIdentityToken: { type: 'string', required: true, min: 4, max: 20000 },
  ProviderId: { type: 'string', min: 4, max: 2048 },
  PolicyArns: { type: 'list', member: { type: 'structure', members: { arn: ARN } } },
  Policy: { type: 'string', min: 1, max: 2048, pattern: '[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+' },
  DurationSeconds: { type: 'integer', min: 900, max: 43200 },
} as const satisfies ShapeSpec;
