/**
 * AWS Query on the wire (STS): the input is a form body, `Action=<Operation>&Version=<version>&`
 * then the members, lists as `Name.member.N` and structures as `Name.Member`; answers are XML,
 * `<OperationResponse xmlns="..."><OperationResult>...</OperationResult><ResponseMetadata>...`, and
 * errors `<ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code/><Message/></Error><RequestId/>`,
 * as STS sends them (text/xml). Input problems are `ValidationError`, with Coral's wording.
 */
import type { Answer } from '../shared/http.js';
import { ApiError } from './errors.js';
import type { QueryProtocol } from './service.js';
import type { WireRequest } from './sigv4.js';
import { inputProblems, knownInput, validationMessage, type MemberSpec, type ShapeSpec } from './validate.js';
import type { WireForm } from './wire-form.js';

export const FORM_URLENCODED = 'application/x-www-form-urlencoded';

/** The form parameters of a request body. */
export function queryParams(wire: WireRequest): URLSearchParams {
  return new URLSearchParams(wire.body.toString('utf8'));
}

export const queryError = (code: string, message: string, status = 400): ApiError => new ApiError(code, message, status);

/** A value of the form read into its member's type; a string that cannot be one is a ValidationError. */
function fromQuery(spec: MemberSpec, params: URLSearchParams, key: string): unknown {
  switch (spec.type) {
    case 'structure': {
      const members = Object.entries(spec.members).map(([name, member]) => [name, fromQuery(member, params, `${key}.${name}`)] as const);
      return members.some(([, v]) => v !== undefined) ? Object.fromEntries(members.filter(([, v]) => v !== undefined)) : undefined;
    }
    case 'list': {
      // botocore sends an empty list as `Name=`; members are numbered from 1 without gaps.
      if (params.get(key) === '') return [];
      const items: unknown[] = [];
      for (let i = 1; ; i++) {
        const item = fromQuery(spec.member, params, `${key}.member.${i}`);
        if (item === undefined) return items.length > 0 ? items : undefined;
        items.push(item);
      }
    }
    default: {
      const text = params.get(key);
      if (text === null) return undefined;
      if (spec.type === 'string') return text;
      if (spec.type === 'integer') {
        if (!/^-?\d{1,10}$/.test(text) || Math.abs(Number(text)) > 2 ** 31 - 1) throw queryError('ValidationError', `Value '${text}' for parameter ${key} is invalid. It must be an integer.`);
        return Number(text);
      }
      if (spec.type === 'boolean') {
        if (text !== 'true' && text !== 'false') throw queryError('ValidationError', `Value '${text}' for parameter ${key} is invalid. It must be true or false.`);
        return text === 'true';
      }
      return text;
    }
  }
}

/** Text content needs only these three escaped; AWS leaves quotes as they are ("Value 'x' at ..."). */
const escape = (text: string): string => text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] as string);

/** A result member as XML elements, indented as AWS indents them. */
function toXml(name: string, value: unknown, depth: number): string {
  const pad = '  '.repeat(depth);
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) {
    const items = value.map((v) => toXml('member', v, depth + 1)).join('');
    return `${pad}<${name}>\n${items}${pad}</${name}>\n`;
  }
  if (typeof value === 'object') {
    const children = Object.entries(value as Record<string, unknown>).map(([k, v]) => toXml(k, v, depth + 1)).join('');
    return `${pad}<${name}>\n${children}${pad}</${name}>\n`;
  }
  return `${pad}<${name}>${escape(String(value))}</${name}>\n`;
}

export function queryWireForm(protocol: QueryProtocol): WireForm {
  const ns = protocol.xmlNamespace;
  return {
    readInput(shape: ShapeSpec, wire: WireRequest): Record<string, unknown> {
      const params = queryParams(wire);
      const input = Object.fromEntries(
        Object.entries(shape)
          .map(([name, spec]) => [name, fromQuery(spec, params, name)] as const)
          .filter(([, v]) => v !== undefined),
      );
      const problems = inputProblems(shape, input);
      if (problems.length > 0) throw queryError('ValidationError', validationMessage(problems));
      return knownInput(shape, input);
    },
    success(operation, result, requestId): Answer {
      const members = Object.entries(result).map(([k, v]) => toXml(k, v, 2)).join('');
      const body =
        `<${operation}Response xmlns="${ns}">\n  <${operation}Result>\n${members}  </${operation}Result>\n` +
        `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n</${operation}Response>\n`;
      return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
    },
    failure(error, requestId): Answer {
      const { code, status } = error.query;
      const body =
        `<ErrorResponse xmlns="${ns}">\n  <Error>\n    <Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type>\n` +
        `    <Code>${escape(code)}</Code>\n    <Message>${escape(error.message)}</Message>\n  </Error>\n` +
        `  <RequestId>${requestId}</RequestId>\n</ErrorResponse>\n`;
      return { status, headers: { ...error.headers, 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
    },
  };
}
