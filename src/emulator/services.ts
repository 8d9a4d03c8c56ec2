/**
 * The services the emulator serves on its one endpoint, told apart by `x-amz-target` (each service's
 * own prefix), as AWS's JSON services are.
 */
import { meteringService } from './metering/service.js';
import type { Service } from './service.js';

export const SERVICES: readonly Service[] = [meteringService];

/** The service and operation an `x-amz-target` names; undefined for a target no service has. */
export function serviceForTarget(target: string | undefined): { service: Service; operation: string } | undefined {
  if (target === undefined) return undefined;
  const service = SERVICES.find((s) => target.startsWith(s.targetPrefix));
  return service === undefined ? undefined : { service, operation: target.slice(service.targetPrefix.length) };
}
