import { describe, expect, it } from 'vitest';

import { makeTar } from '../archive/testing/make-tar.js';
import { renderDiffText } from './render.js';
import { CTX, file } from './testing/fixtures.js';
import { diffTrees } from './tree.js';

describe('renderDiffText', () => {
  it('says so when nothing differs', () => {
    expect(renderDiffText([])).toBe('no differences\n');
  });

  it('renders causes, fixes, diffs and archive members', async () => {
    const tar = (host: string, t: number): Promise<Buffer> =>
      makeTar([
        { name: 'etc/issue', content: `built on ${host}\n` },
        { name: 'bin/sh', content: 'sh', mtime: new Date(t * 1000) },
      ]);
    const a = [
      file('BUILDINFO', 'zlib 1.3\nbuilt at 2026-11-21T21:03:11Z\nby alice\n'),
      file('rootfs.tar', await tar('builder-a7', 1795294991)),
      file('old.txt', 'x'),
      file('run.sh', '#!/bin/sh\n', { mode: 0o755 }),
    ];
    const b = [
      file('BUILDINFO', 'zlib 1.3\nbuilt at 2026-11-21T21:05:14Z\nby bob\n'),
      file('rootfs.tar', await tar('builder-b2', 1795295114)),
      file('run.sh', '#!/bin/sh\n', { mode: 0o775 }),
    ];
    expect(renderDiffText(await diffTrees(a, b, CTX))).toMatchInlineSnapshot(`
      "5 differences (4 top-level paths)

      BUILDINFO: content, size differ
        likely cause: timestamp — line 2: 'built at 2026-11-21T21:03:11Z' vs 'built at 2026-11-21T21:05:14Z', both inside the build windows (ISO 8601) (also: username)
        --- a/BUILDINFO
        +++ b/BUILDINFO
        @@ -1,3 +1,3 @@
         zlib 1.3
        -built at 2026-11-21T21:03:11Z
        -by alice
        +built at 2026-11-21T21:05:14Z
        +by bob
      old.txt: only in a
      rootfs.tar: content differs
        likely cause: timestamp (tar member mtime) — bin/sh: mtime 2026-11-21T21:03:11Z vs 2026-11-21T21:05:14Z, both inside the build windows; also hostname in etc/issue
        members:
          bin/sh: mtime differs
            likely cause: timestamp — mtime 2026-11-21T21:03:11Z vs 2026-11-21T21:05:14Z, both inside the build windows
          etc/issue: content differs
            likely cause: hostname — line 1: 'built on builder-a7' vs 'built on builder-b2'; 'builder-a7' is the hostname of run 1, 'builder-b2' is the hostname of run 2
            --- a/etc/issue
            +++ b/etc/issue
            @@ -1,1 +1,1 @@
            -built on builder-a7
            +built on builder-b2
      run.sh: mode differs
        likely cause: unknown — mode 0755 vs 0775

      usual fixes:
        timestamp: take the time from SOURCE_DATE_EPOCH instead of the clock (date -d @$SOURCE_DATE_EPOCH, touch -d @$SOURCE_DATE_EPOCH)
        hostname: do not embed the machine name (uname -n, $HOSTNAME, /proc/sys/kernel/domainname)
      "
    `);
  });
});
