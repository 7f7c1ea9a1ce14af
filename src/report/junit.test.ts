import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJunit } from './junit.js';
import { sampleRun } from './testing/sample-run.js';
import type { ReportRun } from './types.js';

const XSD = join(import.meta.dirname, '../../test/fixtures/junit/junit.xsd');
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-junit-'));
  const which = await execa('xmllint', ['--version'], { reject: false });
  if (which.exitCode !== 0) throw new Error('xmllint is needed (Debian: apt-get install libxml2-utils)');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function xmllint(xml: string, ...args: string[]) {
  const file = join(dir, `report-${n++}.xml`);
  await writeFile(file, xml);
  return execa('xmllint', [...args, file], { reject: false });
}

/** An XPath number over the document (xmllint evaluates it). */
async function xpath(xml: string, expr: string): Promise<string> {
  const r = await xmllint(xml, '--xpath', expr);
  if (r.exitCode !== 0) throw new Error(`xmllint --xpath ${expr}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('renderJunit', () => {
  it('is valid against the published JUnit schema', async () => {
    const r = await xmllint(renderJunit(sampleRun()), '--noout', '--schema', XSD);
    expect(r.stderr).toMatch(/validates$/);
    expect(r.exitCode).toBe(0);
  });

  it('writes one suite per cell and one testcase per step, with counts that add up', async () => {
    const xml = renderJunit(sampleRun());
    expect(await xpath(xml, 'count(/testsuites/testsuite)')).toBe('12');
    expect(await xpath(xml, 'count(//testcase)')).toBe('36');
    expect(await xpath(xml, 'string(/testsuites/@tests)')).toBe('36');
    expect(await xpath(xml, 'string(/testsuites/@failures)')).toBe('2');
    expect(await xpath(xml, 'string(/testsuites/@errors)')).toBe('1');
    expect(await xpath(xml, 'count(//testcase/skipped)')).toBe('3');
    const suite = '/testsuites/testsuite[@name="arch=x64,cc=gcc,opt=-O3"]';
    expect(await xpath(xml, `concat(${suite}/@tests, " ", ${suite}/@failures, " ", ${suite}/@errors, " ", ${suite}/@skipped, " ", ${suite}/@time)`)).toBe('3 1 0 1 1.504');
    expect(await xpath(xml, `string(${suite}/@timestamp)`)).toBe('2025-01-02T03:04:05');
    expect(await xpath(xml, `string(${suite}/@hostname)`)).toBe('ci-runner-1');
    expect(await xpath(xml, `string(${suite}/testcase[@name="build"]/@classname)`)).toBe('arch=x64,cc=gcc,opt=-O3');
    expect(await xpath(xml, `string(${suite}/testcase[@name="build"]/@time)`)).toBe('1.204');
  });

  it('puts the expectation diff in the failure body, timeouts in <error>', async () => {
    const xml = renderJunit(sampleRun());
    const failure = '//testsuite[@name="arch=arm64,cc=clang,opt=-O0"]/testcase[@name="test"]/failure';
    expect(await xpath(xml, `string(${failure}/@type)`)).toBe('stdout');
    expect(await xpath(xml, `string(${failure}/@message)`)).toBe('stdout does not equal the expected text');
    expect(await xpath(xml, `string(${failure})`)).toContain('-sum=10\n+sum=11 <&>');
    const error = '//testsuite[@name="arch=arm64,cc=clang,opt=-O2"]/testcase[@name="test"]/error';
    expect(await xpath(xml, `concat(${error}/@type, ": ", ${error}/@message)`)).toBe('timeout: killed after its 5000 ms timeout');
  });

  it('records the cell as properties: status, cache source, matrix values', async () => {
    const xml = renderJunit(sampleRun());
    const props = '//testsuite[@name="arch=x64,cc=gcc,opt=-O0"]/properties/property';
    expect(await xpath(xml, `string(${props}[@name="airlock.status"]/@value)`)).toBe('cached');
    expect(await xpath(xml, `string(${props}[@name="airlock.cached-from"]/@value)`)).toBe('20250101T000000Z-0badc0de');
    expect(await xpath(xml, `string(${props}[@name="matrix.opt"]/@value)`)).toBe('-O0');
  });

  it('escapes logs, drops characters XML cannot hold and terminal colour codes', async () => {
    const xml = renderJunit(sampleRun());
    expect(xml).not.toMatch(/[\u0000\u0007\u001b]/);
    expect(xml).toContain('<system-out>gcc -O0 -o app main.c\nok &lt;built&gt; &amp; "linked"\n</system-out>');
    expect(xml).toContain('<system-err>warning: bell nul lone end\n</system-err>');
    const r = await xmllint(xml, '--noout');
    expect(r.exitCode).toBe(0);
  });

  it('bounds logs and names the full log by digest', async () => {
    const run = sampleRun();
    const big = 'x'.repeat(5000);
    run.cells[0]!.steps[0]!.stdout = { digest: `sha256:${'a'.repeat(64)}`, size: 5000, excerpt: big };
    const xml = renderJunit(run, { maxLogChars: 100 });
    expect(xml).toContain(`${'x'.repeat(100)}\n[airlock: 100 of 5000 bytes shown; full log sha256:${'a'.repeat(64)}]\n</system-out>`);
    expect(xml).not.toContain('x'.repeat(101));
  });

  it('escapes attribute values, including quotes and newlines', async () => {
    const run = sampleRun();
    const cell = run.cells[0]!;
    cell.id = 'q="a,b"\n<&>';
    cell.steps[0]!.name = `it's "quoted"\ttab`;
    const xml = renderJunit(run);
    expect(xml).toContain('name="q=&quot;a,b&quot;&#10;&lt;&amp;&gt;"');
    expect(await xpath(xml, 'string(//testcase[1]/@name)')).toBe(`it's "quoted"\ttab`);
    expect((await xmllint(xml, '--noout', '--schema', XSD)).exitCode).toBe(0);
  });

  it('gives a cell without steps one (cell) testcase, so an error or skip is never silent', async () => {
    const run: ReportRun = {
      ...sampleRun(),
      cells: [
        { id: 'cc=icc', cell: { cc: 'icc' }, status: 'error', durationMs: 0, cached: false, error: 'image build failed: no such stage', steps: [] },
        { id: 'cc=tcc', cell: { cc: 'tcc' }, status: 'skipped', durationMs: 0, cached: false, steps: [] },
      ],
    };
    const xml = renderJunit(run);
    expect((await xmllint(xml, '--noout', '--schema', XSD)).exitCode).toBe(0);
    expect(await xpath(xml, 'string(//testsuite[@name="cc=icc"]/testcase[@name="(cell)"]/error/@message)')).toBe('image build failed: no such stage');
    expect(await xpath(xml, 'count(//testsuite[@name="cc=tcc"]/testcase[@name="(cell)"]/skipped)')).toBe('1');
    expect(await xpath(xml, 'concat(/testsuites/@tests, " ", /testsuites/@errors)')).toBe('2 1');
  });
});
