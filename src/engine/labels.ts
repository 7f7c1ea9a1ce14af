/**
 * Every container, network and volume airlock creates carries these labels, so a
 * crashed run's leftovers can always be found (`airlock gc`) and an interrupted
 * run can remove exactly its own resources.
 */
export const LABEL_MANAGED = 'dev.airlock.managed';
export const LABEL_RUN = 'dev.airlock.run';
/** pid of the controller that created the resource, for people reading `docker ps`; gc judges liveness by the workspace's run leases. */
export const LABEL_PID = 'dev.airlock.pid';
export const LABEL_ROLE = 'dev.airlock.role';
/** On images airlock builds: the spec they were built for. */
export const LABEL_BUILT_BY_SPEC = 'dev.airlock.spec';
/** On base images: the normalized rootfs digest measured when the image was made. */
export const LABEL_ROOTFS = 'dev.airlock.rootfs-digest';

export type ResourceRole = 'cell' | 'measure' | 'service' | 'helper';

export function runLabels(runId: string, role: ResourceRole): Record<string, string> {
  return { [LABEL_MANAGED]: 'true', [LABEL_RUN]: runId, [LABEL_PID]: String(process.pid), [LABEL_ROLE]: role };
}
