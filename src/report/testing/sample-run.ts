import { cellId, expandMatrix } from '../../plan/matrix.js';
import { digestHex, sha256Digest } from '../../util/digest.js';
import { transcriptFacts } from '../transcript-facts.js';
import type { CellStatus, ReportBase, ReportCell, ReportRun, ReportStep } from '../types.js';
import { containerEvent, vmEvent } from './events.js';

const href = (text: string) => `report-files/sha256/${digestHex(sha256Digest(text))}`;
const stream = (text: string) => ({ digest: sha256Digest(text), size: Buffer.byteLength(text), href: href(text), excerpt: text });

/** The sandboxes of the sample: x64 cells in containers, arm64 under gVisor (`vm`: a VM's, for tests). */
export const SANDBOXES = transcriptFacts([containerEvent('x64'), containerEvent('arm64', { isolation: 'gvisor' }), vmEvent('vm')]).cells;

const BASES: ReportBase[] = [
  {
    ref: 'airlock/busybox',
    rootfsDigest: sha256Digest('busybox rootfs'),
    sbom: { digest: sha256Digest('sbom'), size: 1803, href: href('sbom') },
    packages: [{ name: 'busybox-static', version: '1:1.35.0-4+b3' }],
  },
  { ref: 'other/base:1', rootfsDigest: null },
];

/**
 * A 12-cell report (cc × opt × arch, 2 × 3 × 2): 3 failed (an exit code, a stdout diff,
 * a timeout), 4 cached, 5 passed; logs hold characters that must be escaped or dropped.
 */
export function sampleRun(): ReportRun {
  const axes = { cc: ['gcc', 'clang'], opt: ['-O0', '-O2', '-O3'], arch: ['x64', 'arm64'] };
  const cells = expandMatrix({ axes, include: [{ cc: 'clang', opt: '-O3', experimental: true }] });
  const failing: Record<string, 'exit' | 'stdout' | 'timeout'> = {
    'arch=x64,cc=gcc,opt=-O3': 'exit',
    'arch=arm64,cc=clang,opt=-O0': 'stdout',
    'arch=arm64,cc=clang,opt=-O2': 'timeout',
  };
  const cached = new Set(['arch=x64,cc=gcc,opt=-O0', 'arch=arm64,cc=gcc,opt=-O0', 'arch=x64,cc=clang,opt=-O0', 'arch=x64,cc=clang,opt=-O2']);
  const report: ReportCell[] = cells.map((cell, i) => {
    const id = cellId(cell);
    const how = failing[id];
    const build: ReportStep = {
      name: 'build',
      verdict: 'pass',
      exitCode: 0,
      durationMs: 1200 + i,
      failures: [],
      stdout: stream(`${cell.cc} ${cell.opt} -o app main.c\n\u001b[32mok\u001b[0m <built> & "linked"\n`),
      stderr: stream(`warning: bell\u0007 nul\u0000 lone\ud800 end\n`),
    };
    const test: ReportStep =
      how === 'exit'
        ? { name: 'test', verdict: 'fail', exitCode: 2, durationMs: 300, failures: [{ what: 'exit', message: 'exit code 2, expected 0' }], stdout: stream('running 3 tests\n'), stderr: stream('assertion failed: x < y\n') }
        : how === 'stdout'
          ? {
              name: 'test',
              verdict: 'fail',
              exitCode: 0,
              durationMs: 250,
              failures: [{ what: 'stdout', message: 'stdout does not equal the expected text', diff: '--- expected/stdout\n+++ actual/stdout\n@@ -1 +1 @@\n-sum=10\n+sum=11 <&>\n' }],
              stdout: stream('sum=11 <&>\n'),
            }
          : how === 'timeout'
            ? { name: 'test', verdict: 'timeout', exitCode: 137, durationMs: 5000, failures: [{ what: 'timeout', message: 'killed after its 5000 ms timeout' }] }
            : { name: 'test', verdict: 'pass', exitCode: 0, durationMs: 200, failures: [], stdout: stream('all 3 tests passed\n') };
    const steps: ReportStep[] = [build, test, { name: 'package', verdict: how ? 'skipped' : 'pass', exitCode: how ? null : 0, durationMs: how ? 0 : 50, failures: [] }];
    const status: CellStatus = how ? 'failed' : cached.has(id) ? 'cached' : 'passed';
    const written = `${id}\n`;
    return {
      image: { variant: 'app@1a2b3c', rootfsDigest: sha256Digest('app rootfs') },
      ...(status === 'cached' ? {} : { enforcement: SANDBOXES.get(String(cell.arch))!.enforcement! }),
      outputs: [
        { path: '/out', type: 'dir', size: 0 },
        { path: '/out/report.txt', type: 'file', size: written.length, blob: { digest: sha256Digest(written), size: written.length, href: href(written) } },
        { path: '/out/latest', type: 'symlink', size: 0, target: 'report.txt' },
      ],
      id,
      cell,
      status,
      durationMs: steps.reduce((t, s) => t + s.durationMs, 0),
      cached: status === 'cached',
      ...(status === 'cached' ? { cachedFrom: '20250101T000000Z-0badc0de' } : {}),
      steps,
    };
  });
  return {
    runId: '20250102T030405Z-12345678',
    spec: 'matrix-demo',
    verdict: 'failed',
    startedAt: '2025-01-02T03:04:05.678Z',
    durationMs: 83_000,
    hostname: 'ci-runner-1',
    bundle: {
      dir: 'proofs/20250102T030405Z-12345678',
      verified: true,
      keyid: 'abcdef0123456789',
      checkedAt: '2025-01-02T03:05:29.000Z',
      checkedBy: 'airlock 0.0.0-test, in the command that sealed the run',
    },
    files: [
      { name: 'transcript.jsonl', what: 'the hash-chained event log' },
      { name: 'statement.json', what: 'the in-toto statement' },
    ],
    axes: Object.keys(axes),
    cells: report,
    bases: BASES,
  };
}
