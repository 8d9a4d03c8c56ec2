/**
 * The services the emulator serves on its one endpoint, told apart as AWS's JSON services are: by
 * `x-amz-target` (each service's own prefix) with the AWS JSON 1.1 content type.
 */
import { licenseManagerService } from './license-manager/service.js';
import { meteringService } from './metering/service.js';
import type { Service } from './service.js';
import type { WireRequest } from './sigv4.js';

export const SERVICES: readonly Service[] = [meteringService, licenseManagerService];

const JSON_11 = 'application/x-amz-json-1.1';

/** The media type of a request, lowercase, without parameters. */
export function mediaType(wire: WireRequest): string | undefined {
  return wire.headers['content-type']?.[0]?.split(';')[0]?.trim().toLowerCase();
}

/** The service and operation an `x-amz-target` names; undefined for a target no service has. */
export function serviceForTarget(target: string | undefined): { service: Service; operation: string } | undefined {
  if (target === undefined) return undefined;
  const service = SERVICES.find((s) => target.startsWith(s.protocol.targetPrefix));
  return service === undefined ? undefined : { service, operation: target.slice(service.protocol.targetPrefix.length) };
}

/** The service and operation a request is for; undefined when no service speaks its protocol and target. */
export function routeRequest(wire: WireRequest): { service: Service; operation: string } | undefined {
  return mediaType(wire) === JSON_11 ? serviceForTarget(wire.headers['x-amz-target']?.[0]) : undefined;
}
