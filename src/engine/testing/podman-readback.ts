/**
 * Podman 4.3's read-back of a hardened cell, as its Docker-compatible API printed it
 * (test data for the rule table and for verify): the default capabilities it no longer
 * holds instead of `ALL`, `oci` for the runtime, bind and tmpfs options spelled out, and
 * the tmpfs it adds itself on a read-only root.
 */
export const PODMAN_43_CAP_DROP = ['AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT'];

/** The HostConfig Podman reads back for a cell with these limits and policy tmpfs mounts. */
export function podman43HostConfig(o: { helper: string; memory: number; pids: number; cpus: number; tmpfs: readonly string[] }): Record<string, unknown> {
  const quota = Math.round(o.cpus * 100000);
  return {
    Binds: [`${o.helper}:/.airlock/busybox:ro,rprivate,rbind`],
    NetworkMode: 'none',
    PortBindings: {},
    CapAdd: [],
    CapDrop: [...PODMAN_43_CAP_DROP],
    IpcMode: 'shareable',
    Privileged: false,
    PublishAllPorts: false,
    ReadonlyRootfs: true,
    SecurityOpt: ['no-new-privileges'],
    Tmpfs: {
      '/run': 'rw,rprivate,nosuid,nodev,tmpcopyup',
      '/var/tmp': 'rw,rprivate,nosuid,nodev,tmpcopyup',
      ...Object.fromEntries(o.tmpfs.map((p) => [p, `rw,noexec,nosuid,nodev,size=${o.memory},mode=1777,rprivate,tmpcopyup`])),
    },
    Runtime: 'oci',
    Memory: o.memory,
    MemorySwap: o.memory,
    NanoCpus: Math.round(o.cpus * 1e9),
    CpuPeriod: 100000,
    CpuQuota: quota,
    PidsLimit: o.pids,
  };
}
