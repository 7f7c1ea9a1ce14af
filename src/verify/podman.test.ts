/**
 * A bundle sealed on Podman: its cell's read-back is Podman's spelling (the default
 * capabilities it no longer holds, `oci` for the runtime, options spelled out, the tmpfs it
 * adds on a read-only root) and verifies by the same rule table; a bundle whose Podman
 * read-back shows a weaker cell does not, whoever signed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { HELPER } from './testing/events.js';
import { makeBundle, rejectsWith, removeBundles } from './testing/bundle.js';
import { podman43HostConfig } from '../engine/testing/podman-readback.js';

afterEach(removeBundles);

/** What Podman 4.3 reads back for the fixture's cell (policy: tmpfs /tmp, 256 MiB, 256 pids, 1 CPU). */
const PODMAN = podman43HostConfig({ helper: HELPER, memory: 268435456, pids: 256, cpus: 1, tmpfs: ['/tmp'] });

const tmpfs = (over: Record<string, string | undefined>) => {
  const t = { ...(PODMAN.Tmpfs as Record<string, string>), ...over };
  return Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
};

describe('a bundle sealed on Podman', () => {
  it('verifies: Podman’s read-back means the policy held', async () => {
    const f = await makeBundle({ hostConfig: PODMAN });
    expect((await f.verify()).checks.map((c) => c.name)).toContain('policy');
  });

  it.each([
    ['a default capability kept', 'CapDrop', { CapDrop: (PODMAN.CapDrop as string[]).filter((c) => c !== 'NET_RAW') }],
    ['a capability beyond the defaults', 'CapAdd', { CapAdd: ['CAP_SYS_ADMIN'] }],
    ['Podman’s tmpfs executable', 'Tmpfs', { Tmpfs: tmpfs({ '/run': 'rw,rprivate,nosuid,nodev,tmpcopyup,exec' }) }],
    ['Podman’s form at a path it never mounts', 'Tmpfs', { Tmpfs: tmpfs({ '/home': 'rw,rprivate,nosuid,nodev,tmpcopyup' }) }],
    ['Podman’s form instead of the policy’s /tmp', 'Tmpfs', { Tmpfs: tmpfs({ '/tmp': 'rw,rprivate,nosuid,nodev,tmpcopyup' }) }],
    ['the policy’s /tmp missing', 'Tmpfs', { Tmpfs: tmpfs({ '/tmp': undefined }) }],
    ['the helper writable', 'Binds', { Binds: [`${HELPER}:/.airlock/busybox:rw,rprivate,rbind`] }],
  ])('is refused when its read-back shows %s (%s)', async (_name, field, change) => {
    const f = await makeBundle({ hostConfig: { ...PODMAN, ...change } });
    await rejectsWith(f, 'POLICY_NOT_ENFORCED', { field, what: `linux: ${field}` });
  });
});
