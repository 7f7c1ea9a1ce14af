import { mkdir, mkdtemp, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, writeKeyPair } from '../src/proof/keys.js';
import { renderHtml } from '../src/report/html.js';
import { renderJunit } from '../src/report/junit.js';
import { sampleRun } from '../src/report/testing/sample-run.js';
import { REPO, writeTree } from './helpers.js';

const CHROMIUM = process.env.AIRLOCK_CHROMIUM ?? '/usr/bin/chromium';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlock-report-'));
  const probe = await execa(CHROMIUM, ['--version'], { reject: false });
  if (probe.exitCode !== 0) throw new Error(`${CHROMIUM} is needed (Debian: apt-get install -y --no-install-recommends chromium)`);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The DOM after the page's own script ran, as headless Chromium serializes it. */
async function renderedDom(file: string): Promise<string> {
  const profile = await mkdtemp(join(dir, 'profile-'));
  const r = await execa(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      '--dump-dom',
      pathToFileURL(file).href,
    ],
    { timeout: 60_000, reject: false },
  );
  if (r.exitCode !== 0 || !r.stdout.includes('</html>')) throw new Error(`chromium --dump-dom failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

describe('the HTML report in a real browser', () => {
  it('renders the 12-cell grid and its script fills in the summary', async () => {
    const run = sampleRun();
    const file = join(dir, 'report.html');
    await writeFile(file, renderHtml(run));
    await writeFile(join(dir, 'junit.xml'), renderJunit(run));

    const dom = await renderedDom(file);
    const cells = [...dom.matchAll(/<div\b[^>]*\bdata-testid="cell"[^>]*>/g)].map((m) => m[0]);
    expect(cells).toHaveLength(12);
    const status = (tag: string) => /\bdata-status="(\w+)"/.exec(tag)?.[1];
    const byStatus = cells.reduce<Record<string, number>>((acc, tag) => ({ ...acc, [status(tag)!]: (acc[status(tag)!] ?? 0) + 1 }), {});
    expect(byStatus).toEqual({ passed: 5, cached: 4, failed: 3 });
    // Each cell's status in the DOM is the one the run gave it.
    for (const c of run.cells) {
      const tag = cells.find((t) => t.includes(`data-cell-id="${c.id}"`));
      expect(tag && status(tag), c.id).toBe(c.status);
    }

    // Written by the page's own script (the CSP hash let it run); empty in the source.
    expect(dom).toMatch(/<html lang="en" data-js="ready">/);
    const summary = /<p id="summary"[^>]*>([^<]*)<\/p>/.exec(dom);
    expect(summary?.[1]).toBe('12 cells: 5 passed, 4 cached, 3 failed');
    expect(summary?.[0]).toContain('data-total="12"');
    expect(summary?.[0]).toContain('data-failed="3"');
    expect(dom).not.toMatch(/<fieldset id="filters" hidden/);
  });
});

const BIN = join(REPO, 'bin/airlock');

/** Every link of a page as Chromium resolved it (the DOM after load), as files: none may be missing. */
function linkTargets(dom: string, page: string): { href: string; file: string }[] {
  const base = pathToFileURL(page);
  return [...dom.matchAll(/<a\b[^>]*\shref="([^"]*)"/g)]
    .map((m) => m[1]!.replace(/&amp;/g, '&'))
    .filter((href) => !href.startsWith('#'))
    .map((href) => ({ href, file: fileURLToPath(new URL(href, base)) }));
}

const isFile = (p: string) => stat(p).then((s) => s.isFile(), () => false);

describe('the report of a real run: portable and honest', () => {
  // The machine that makes the report has its own project root, $HOME and $TMPDIR: none of them may reach the page.
  let machine: { project: string; home: string; tmp: string };
  let keyid: string;
  let bundle: string;
  let result: { bundleDir: string; exitCode: number; reports: { html: string }; cells: { id: string; outputs: { name: string; digest: string }[] }[] };

  beforeAll(async () => {
    machine = { project: join(dir, 'project-q7x'), home: join(dir, 'home-zk2'), tmp: join(dir, 'tmp-wp4') };
    await Promise.all(Object.values(machine).map((d) => mkdir(d, { recursive: true })));
    const env = (name: string, body: string) => `  ${name}:\n    image: box\n${body}`;
    await writeTree(machine.project, {
      'Dockerfile': 'FROM airlock/busybox\n',
      'golden/hello.txt': 'hello\n',
      'airlock.yaml': [
        'version: 1',
        'name: report-demo',
        'images:',
        '  box: { dockerfile: Dockerfile, context: . }',
        'environments:',
        env(
          'box',
          [
            '    steps:',
            '      - name: hello',
            '        run: ["/bin/sh", "-c", "echo hello; echo made > /out/made.txt; mkdir /out/sub; echo deep > /out/sub/deep.txt"]',
            '        expect: { stdout: { file: golden/hello.txt } }',
            // fails on purpose: its message names the golden file, a path of this machine
            '      - name: golden-differs',
            '        run: ["/bin/sh", "-c", "echo goodbye"]',
            '        expect: { stdout: { file: golden/hello.txt } }',
            '    outputs: ["/out"]',
          ].join('\n'),
        ),
        env('box-gvisor', ['    isolation: gvisor', '    steps:', '      - name: hello', '        run: ["/bin/sh", "-c", "echo hello"]'].join('\n')),
        env(
          'box-vm',
          [
            '    isolation: vm',
            '    vm: { memory: 256m, cpus: 1, accel: auto, timeout: 120s }',
            '    steps:',
            '      - name: hello',
            '        run: ["/bin/sh", "-c", "echo hello > /out/vm.txt"]',
            '    outputs: ["/out"]',
          ].join('\n'),
        ),
        '',
      ].join('\n'),
    });
    const keyPath = join(dir, 'key', 'signing.key');
    const key = generateSigningKey();
    keyid = key.keyid;
    await writeKeyPair(key, { privatePath: keyPath, locksDir: join(machine.project, 'locks') });
    const r = await execa('node', [BIN, 'run', '--root', machine.project, '--json'], {
      cwd: machine.project,
      env: { HOME: machine.home, TMPDIR: machine.tmp, AIRLOCK_SIGNING_KEY: keyPath },
      reject: false,
    });
    result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(result.exitCode, r.stderr.slice(-2000)).toBe(1); // golden-differs
    bundle = result.bundleDir;
  });

  it('names no path of the machine that made it, in the page or in junit.xml', async () => {
    const forbidden = [machine.project, await realpath(machine.project), machine.home, machine.tmp, dir, `${tmpdir()}/airlock-`, `${homedir()}/`];
    for (const file of ['report.html', 'junit.xml']) {
      const text = await readFile(join(bundle, file), 'utf8');
      for (const p of forbidden) expect(text.includes(p), `${file} contains ${p}`).toBe(false);
    }
    const page = await readFile(result.reports.html, 'utf8');
    expect(page).toContain('stdout differs from golden file golden/hello.txt');
    expect(page).toContain(`<code>proofs/${result.bundleDir.split('/').at(-1)}</code>: the folder of this page`);
  });

  it('states when, by what and against which key the bundle was checked, and how to check it yourself', async () => {
    const dom = await renderedDom(result.reports.html);
    expect(dom).not.toMatch(/signature verified/i);
    const verified = /<p class="vf-ok" data-testid="verified" data-verified="true">([\s\S]*?)<\/p>/.exec(dom)?.[1];
    expect(verified).toMatch(/^Checked on <time datetime="[^"]+">\d{4}-\d\d-\d\dT[\d:.]+Z<\/time> by airlock \S+, in the command that sealed the run, with the checks of <code>airlock verify<\/code>/);
    expect(verified).toContain(`the signature is valid, made by key <code>${keyid}</code>, and every check passed.`);
    expect(dom).toContain('<code data-testid="verify-command">airlock verify .</code>');
    // …and the command does what the page says, in the folder of the page
    const r = await execa('node', [BIN, 'verify', '.'], { cwd: bundle, reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
  });

  it('shows per cell the isolation, the sandbox as read back, the outputs with digests and the base packages', async () => {
    const dom = await renderedDom(result.reports.html);
    const isolation = [...dom.matchAll(/data-cell-id="([^"]+)"[\s\S]*?data-isolation="(\w+)"/g)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(isolation)).toEqual({ box: 'container', 'box-gvisor': 'gvisor', 'box-vm': 'vm' });
    const row = (setting: string) => [...dom.matchAll(new RegExp(`data-setting="${setting}"><th scope="row">[^<]*</th><td>([^<]*)</td>`, 'g'))].map((m) => m[1]);
    expect(row('network')).toEqual(['none: loopback only', 'none: loopback only', 'no network card']);
    expect(row('read-only root')).toEqual(['yes', 'yes']);
    expect(row('user')).toEqual(['65534:65534', '65534:65534', '65534:65534']);
    expect(row('no-new-privileges')).toEqual(['on', 'on']);
    expect(row('capabilities')).toEqual(['all dropped; none added', 'all dropped; none added']);
    expect(row('runtime')).toEqual(['runc', 'runsc']);
    for (const cell of result.cells) {
      for (const o of cell.outputs) expect(dom, o.name).toContain(`<code class="digest">${o.digest}</code>`);
    }
    expect(dom).toContain('<code>/out/made.txt</code>');
    expect(dom).toMatch(/<tr data-testid="package"><td><code>busybox-static<\/code><\/td><td><code>[^<]+<\/code><\/td><\/tr>/);
  });

  it('keeps its links working after `airlock export` and after the bundle folder moves', async () => {
    const exported = join(dir, 'exported-copy');
    const e = await execa('node', [BIN, 'export', bundle, exported, '--root', machine.project], { reject: false });
    expect(e.exitCode, e.stderr).toBe(0);
    const moved = join(dir, 'somewhere', 'else', 'bundle');
    await mkdir(join(dir, 'somewhere', 'else'), { recursive: true });
    await rename(bundle, moved);

    const made = result.cells.find((c) => c.id === 'box')!.outputs.find((o) => o.name.endsWith('/made.txt'))!;
    for (const folder of [moved, exported]) {
      const page = join(folder, 'report.html');
      const links = linkTargets(await renderedDom(page), page);
      expect(links.map((l) => l.href)).toEqual(expect.arrayContaining(['transcript.jsonl', 'statement.json', 'envelope.dsse.json', 'bundle.json', `report-files/sha256/${made.digest.slice(7)}`]));
      expect(links.length).toBeGreaterThan(10);
      for (const l of links) {
        expect(l.file.startsWith(`${folder}/`), `${l.href} leaves ${folder}`).toBe(true);
        expect(await isFile(l.file), `${folder}: ${l.href}`).toBe(true);
      }
      // follow one: the output's link opens its bytes
      expect(await renderedDom(join(folder, `report-files/sha256/${made.digest.slice(7)}`))).toContain('made\n');
    }
    // the exported copy verifies as the page says: in its folder, the key named
    const v = await execa('node', [BIN, 'verify', '.', '--key', join(machine.project, 'locks', 'keys', `${keyid}.pub.pem`)], { cwd: exported, reject: false });
    expect(v.exitCode, v.stderr).toBe(0);
  });
});

