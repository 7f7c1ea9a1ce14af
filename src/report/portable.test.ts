import { describe, expect, it } from 'vitest';
import { pathRules, portableRun, portableText } from './portable.js';
import { sampleRun } from './testing/sample-run.js';

const rules = pathRules({ projectRoot: '/home/u/proj', tmpdir: '/tmp', homedir: '/home/u' });

describe('portableText', () => {
  it('writes paths in the project relative to it, the temp dir as $TMPDIR, the home dir as ~', () => {
    expect(portableText('stdout differs from golden file /home/u/proj/examples/golden.txt', rules)).toBe('stdout differs from golden file examples/golden.txt');
    expect(portableText('cwd /home/u/proj, then /home/u/proj/', rules)).toBe('cwd ., then ./');
    expect(portableText('in none of: /home/u/proj/proofs/r1, /home/u/proj/artifacts', rules)).toBe('in none of: proofs/r1, artifacts');
    expect(portableText('cannot read /tmp/airlock-vm-x/root.cpio (EACCES)', rules)).toBe('cannot read $TMPDIR/airlock-vm-x/root.cpio (EACCES)');
    expect(portableText('key at "/home/u/.config/airlock/signing.key"', rules)).toBe('key at "~/.config/airlock/signing.key"');
  });

  it('rewrites whole paths only', () => {
    for (const s of ['/var/tmp/x', '/tmpfs/x', '/home/user2/x', 'x/tmp/y', '/proj']) expect(portableText(s, rules), s).toBe(s);
    // not the project, but in the home dir
    expect(portableText('/home/u/project/x', rules)).toBe('~/project/x');
  });

  it('takes the longest path first: a project in the temp dir is the project', () => {
    const inTmp = pathRules({ projectRoot: '/tmp/airlock-it-1', tmpdir: '/tmp', homedir: '/root' });
    expect(portableText('/tmp/airlock-it-1/proofs/r and /tmp/other and /root/.cache', inTmp)).toBe('proofs/r and $TMPDIR/other and ~/.cache');
    expect(portableText('/tmp/airlock-it-1/x and /tmp/y', inTmp, 'project')).toBe('x and /tmp/y');
  });

  it('never rewrites every absolute path (a root of /)', () => {
    expect(pathRules({ projectRoot: '/', tmpdir: '/', homedir: '/' })).toEqual([]);
  });
});

describe('portableRun', () => {
  it("rewrites what airlock wrote on the host with every rule, what came from a cell with the project's only", () => {
    const run = sampleRun();
    run.bundle = { ...run.bundle, verified: false, problem: 'blob x is in none of: /home/u/proj/artifacts, /tmp/cas' };
    run.cells[0]!.error = '[IO] cannot write /home/u/.cache/airlock/x';
    run.cells[0]!.steps[0]!.failures = [{ what: 'stdout', message: 'stdout differs from golden file /home/u/proj/golden/a.txt', diff: '--- /home/u/proj/golden/a.txt\n+++ actual' }];
    run.cells[0]!.steps[0]!.stdout!.excerpt = 'wrote /tmp/x.o in /home/u/proj/src\n';
    const p = portableRun(run, rules);
    expect(p.bundle.problem).toBe('blob x is in none of: artifacts, $TMPDIR/cas');
    expect(p.cells[0]!.error).toBe('[IO] cannot write ~/.cache/airlock/x');
    expect(p.cells[0]!.steps[0]!.failures[0]).toEqual({ what: 'stdout', message: 'stdout differs from golden file golden/a.txt', diff: '--- golden/a.txt\n+++ actual' });
    // the cell's own /tmp is not this machine's
    expect(p.cells[0]!.steps[0]!.stdout!.excerpt).toBe('wrote /tmp/x.o in src\n');
    expect(p.cells[1]).toEqual(run.cells[1]);
  });
});
