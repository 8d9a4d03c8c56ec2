/**
 * SaaS customers: the ones subscribed to a product (from the `customers` option, plus every customer a
 * registration token was issued for) and the registration tokens ResolveCustomer redeems. On AWS a
 * token reaches the seller from the buyer's browser; here a test asks the admin endpoint for one.
 */
import { randomBytes } from 'node:crypto';
import { LICENSE_ARN_PATTERN } from './shapes.js';
import { REGISTER_USAGE_INPUT } from './shapes.js';

export interface SubscribedCustomer {
  /** Legacy id; new integrations identify customers by account id (and license). */
  customerIdentifier?: string;
  customerAWSAccountId?: string;
  productCode: string;
  licenseArn?: string;
}

export interface RegistrationTokenRequest {
  customerAWSAccountId: string;
  productCode: string;
  customerIdentifier?: string;
  licenseArn?: string;
  /** Default 3600 (AWS's docs say about an hour in one place and 4 hours in another). */
  expiresInSeconds?: number;
}

export interface IssuedRegistrationToken {
  registrationToken: string;
  /** ISO 8601, by the emulator's clock. */
  expiresAt: string;
}

export const DEFAULT_TOKEN_LIFETIME_S = 3600;
const MAX_TOKEN_LIFETIME_S = 7 * 86_400;
const CUSTOMER_FIELDS = ['customerIdentifier', 'customerAWSAccountId', 'productCode', 'licenseArn'] as const;
const TOKEN_FIELDS = ['customerAWSAccountId', 'productCode', 'customerIdentifier', 'licenseArn', 'expiresInSeconds'] as const;

type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Checks one customer-like object; `tokenRequest` makes the account id required and allows a lifetime. */
function check(input: unknown, where: string, productCodes: ReadonlySet<string> | null, tokenRequest: boolean): string[] {
  const fields: readonly string[] = tokenRequest ? TOKEN_FIELDS : CUSTOMER_FIELDS;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return [`${where}must be an object with: ${fields.join(', ')}`];
  const o = input as Record<string, unknown>;
  const problems = Object.keys(o).filter((k) => !fields.includes(k)).map((k) => `${where}${k} is not a field; allowed: ${fields.join(', ')}`);
  const optionalString = (k: string, ok: (s: string) => boolean, what: string): void => {
    if (o[k] !== undefined && !(typeof o[k] === 'string' && ok(o[k]))) problems.push(`${where}${k} must be ${what}`);
  };
  optionalString('customerAWSAccountId', (s) => /^\d{12}$/.test(s), 'a 12-digit AWS account id');
  optionalString('customerIdentifier', (s) => s.length >= 1 && s.length <= 255, '1-255 characters');
  optionalString('licenseArn', (s) => new RegExp(LICENSE_ARN_PATTERN, 'u').test(s), 'a license ARN (arn:aws:license-manager::...:license:...)');
  const code = o['productCode'];
  const pattern = new RegExp(REGISTER_USAGE_INPUT.ProductCode.pattern, 'u');
  if (typeof code !== 'string' || code.length < 1 || code.length > 255 || !pattern.test(code)) problems.push(`${where}productCode must be a product code (1-255 of A-Z a-z 0-9 - / = : _ . @)`);
  else if (productCodes !== null && !productCodes.has(code)) problems.push(`${where}productCode ${code} is not one of the emulator's products: ${[...productCodes].join(', ')}`);
  if (tokenRequest && o['customerAWSAccountId'] === undefined) problems.push(`${where}customerAWSAccountId is required`);
  if (!tokenRequest && o['customerAWSAccountId'] === undefined && o['customerIdentifier'] === undefined) {
    problems.push(`${where}needs customerAWSAccountId or customerIdentifier (or both)`);
  }
  const life = o['expiresInSeconds'];
  if (tokenRequest && life !== undefined && !(typeof life === 'number' && Number.isSafeInteger(life) && life >= 1 && life <= MAX_TOKEN_LIFETIME_S)) {
    problems.push(`${where}expiresInSeconds must be an integer from 1 to ${MAX_TOKEN_LIFETIME_S}`);
  }
  return problems;
}

/** Problems with the `customers` start option, each naming the entry. */
export function customersProblems(customers: unknown, productCodes: ReadonlySet<string> | null): string[] {
  if (!Array.isArray(customers)) return ['customers must be a list'];
  return customers.flatMap((c, i) => check(c, `customers[${i}].`, productCodes, false));
}

export function parseTokenRequest(input: unknown, productCodes: ReadonlySet<string> | null): Parsed<RegistrationTokenRequest> {
  const problems = check(input, '', productCodes, true);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, value: input as RegistrationTokenRequest };
}

/** Only the customer fields that are set, copied. */
function customerOf(c: SubscribedCustomer): SubscribedCustomer {
  const out: SubscribedCustomer = { productCode: c.productCode };
  if (c.customerIdentifier !== undefined) out.customerIdentifier = c.customerIdentifier;
  if (c.customerAWSAccountId !== undefined) out.customerAWSAccountId = c.customerAWSAccountId;
  if (c.licenseArn !== undefined) out.licenseArn = c.licenseArn;
  return out;
}

export class CustomerRegistry {
  private readonly configured: readonly SubscribedCustomer[];
  private issued: SubscribedCustomer[] = [];
  private tokens = new Map<string, { customer: SubscribedCustomer; expiresAt: number }>();

  constructor(configured: readonly SubscribedCustomer[]) {
    this.configured = configured.map(customerOf);
  }

  /** Everyone BatchMeterUsage accepts usage for. */
  subscribed(): readonly SubscribedCustomer[] {
    return [...this.configured, ...this.issued];
  }

  /** Issues a token for an already validated request; the customer counts as subscribed from now on. */
  issue(request: RegistrationTokenRequest, now: Date): IssuedRegistrationToken {
    const customer = customerOf(request);
    const same = JSON.stringify(customer);
    if (!this.subscribed().some((c) => JSON.stringify(c) === same)) this.issued.push(customer);
    const registrationToken = randomBytes(48).toString('base64url');
    const expiresAt = now.getTime() + (request.expiresInSeconds ?? DEFAULT_TOKEN_LIFETIME_S) * 1000;
    this.tokens.set(registrationToken, { customer, expiresAt });
    return { registrationToken, expiresAt: new Date(expiresAt).toISOString() };
  }

  /** The same answer for the same token until it expires. */
  resolve(token: string, now: Date): SubscribedCustomer | 'invalid' | 'expired' {
    const entry = this.tokens.get(token);
    if (entry === undefined) return 'invalid';
    return now.getTime() >= entry.expiresAt ? 'expired' : customerOf(entry.customer);
  }

  /** Forgets issued tokens and the customers they subscribed; the configured customers stay. */
  reset(): void {
    this.issued = [];
    this.tokens.clear();
  }
}
