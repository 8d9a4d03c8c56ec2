/**
 * The services the emulator serves on its one endpoint, and which one a request is for: an AWS JSON
 * 1.1 request by its `x-amz-target` (each JSON service has its own prefix), an AWS Query request
 * (a form body) by its `Action` (each Query service has its own operations) and `Version`.
 */
import { licenseManagerService } from './license-manager/service.js';
import { meteringService } from './metering/service.js';
import { JSON_11 } from './json-protocol.js';
import { FORM_URLENCODED, queryError, queryParams } from './query-protocol.js';
import type { ApiError } from './errors.js';
import type { Service } from './service.js';
import type { WireRequest } from './sigv4.js';
import { stsService } from './sts/service.js';

export const SERVICES: readonly Service[] = [meteringService, licenseManagerService, stsService];

/** The media type of a request, lowercase, without parameters. */
export function mediaType(wire: WireRequest): string | undefined {
  return wire.headers['content-type']?.[0]?.split(';')[0]?.trim().toLowerCase();
}

/** The service and operation an `x-amz-target` names; undefined for a target no service has. */
export function serviceForTarget(target: string | undefined): { service: Service; operation: string } | undefined {
  if (target === undefined) return undefined;
  for (const service of SERVICES) {
    if (service.protocol.kind === 'json-1.1' && target.startsWith(service.protocol.targetPrefix)) {
      return { service, operation: target.slice(service.protocol.targetPrefix.length) };
    }
  }
  return undefined;
}

export type Route = { service: Service; operation: string; error?: undefined } | { service: Service; operation?: string; error: ApiError };

/** The Query service and operation a form body names, or the error a Query service answers. */
function queryRoute(wire: WireRequest): Route | undefined {
  const services = SERVICES.filter((s) => s.protocol.kind === 'query');
  const first = services[0];
  if (first === undefined) return undefined;
  const params = queryParams(wire);
  const action = params.get('Action');
  if (action === null || action === '') return { service: first, error: queryError('MissingAction', 'Missing Action') };
  const service = services.find((s) => Object.hasOwn(s.operations, action)) ?? first;
  const version = params.get('Version');
  if (service.protocol.kind !== 'query' || version !== service.protocol.version || !Object.hasOwn(service.operations, action)) {
    return { service, operation: action, error: queryError('InvalidAction', `Could not find operation ${action} for version ${version ?? 'NO_VERSION_SPECIFIED'}`) };
  }
  return { service, operation: action };
}

/** The service and operation a request is for; undefined when no service speaks its protocol. */
export function routeRequest(wire: WireRequest): Route | undefined {
  const type = mediaType(wire);
  if (type === JSON_11) return serviceForTarget(wire.headers['x-amz-target']?.[0]);
  if (type === FORM_URLENCODED) return queryRoute(wire);
  return undefined;
}
