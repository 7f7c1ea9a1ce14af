import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../errors.js';
import { generateSigningKey, publicKeyToPem } from '../proof/keys.js';
import type { ProgressEvent, Reporter } from '../run/reporter.js';
import { workspacePaths } from '../run/workspace-paths.js';
import { makeBundle, removeBundles } from '../verify/testing/bundle.js';
import { notVerifiedReason, reproVerdict, trustAndVerify } from './sealed-check.js';

afterEach(removeBundles);

function recorder(): Reporter & { events: ProgressEvent[]; lines: string[] } {
  const events: ProgressEvent[] = [];
  const lines: string[] = [];
  return { events, lines, event: (e) => void events.push(e), info: (l) => void lines.push(l) };
}

describe('trustAndVerify: the bundle a command just sealed', () => {
  it('in a project that trusts no key yet: trusts the signing key, says so once, and verifies', async () => {
    const f = await makeBundle();
    const reporter = recorder();
    const r = await trustAndVerify({ bundleDir: f.bundleDir, key: f.key, workspace: workspacePaths(f.root), reporter });
    const path = join(f.root, 'locks', 'keys', `${f.key.keyid}.pub.pem`);
    expect(r.trust).toEqual({ keyid: f.key.keyid, status: 'added', path });
    expect(r.check).toEqual({ verified: true, keyid: f.key.keyid });
    expect(r.exitCode).toBe(EXIT.OK);
    expect(reporter.lines).toEqual([
      `airlock: first signed bundle in this project: trusting key ${f.key.keyid} (wrote locks/keys/${f.key.keyid}.pub.pem; commit it so others can verify)`,
    ]);
    expect(reporter.events.map((e) => e.type)).toEqual(['key-trusted', 'verified']);
    // the next bundle is simply trusted, silently
    const again = recorder();
    expect((await trustAndVerify({ bundleDir: f.bundleDir, key: f.key, workspace: workspacePaths(f.root), reporter: again })).trust.status).toBe('trusted');
    expect(again.lines).toEqual([]);
  });

  it('in a project that trusts another key: adds nothing, and the verdict is KEY_UNTRUSTED (exit 7) saying what to do', async () => {
    const f = await makeBundle();
    const other = generateSigningKey();
    const keysDir = join(f.root, 'locks', 'keys');
    await mkdir(keysDir, { recursive: true });
    await writeFile(join(keysDir, `${other.keyid}.pub.pem`), publicKeyToPem(other));
    const reporter = recorder();
    const r = await trustAndVerify({ bundleDir: f.bundleDir, key: f.key, workspace: workspacePaths(f.root), reporter });
    expect(r.trust.status).toBe('untrusted');
    expect(r.exitCode).toBe(EXIT.VERIFY);
    expect(r.check).toMatchObject({ verified: false, code: 'KEY_UNTRUSTED' });
    expect(r.check.problem).toBe(
      `[KEY_UNTRUSTED] signed by ${f.key.keyid}, which locks/keys/ does not trust: add it with \`airlock keygen --if-missing\` (writes locks/keys/${f.key.keyid}.pub.pem), or verify with \`airlock verify --key <its .pub.pem>\``,
    );
    expect(await readdir(keysDir)).toEqual([`${other.keyid}.pub.pem`]);
    expect(reporter.lines).toEqual([]);
    expect(reporter.events).toEqual([{ type: 'verified', ok: false, code: 'KEY_UNTRUSTED', problem: r.check.problem }]);
  });

  it('another verification failure keeps its own code and message', async () => {
    const f = await makeBundle();
    await writeFile(join(f.bundleDir, 'transcript.jsonl'), 'tampered\n');
    const r = await trustAndVerify({ bundleDir: f.bundleDir, key: f.key, workspace: workspacePaths(f.root), reporter: recorder() });
    expect(r.exitCode).toBe(EXIT.VERIFY);
    expect(r.check.code).not.toBe('KEY_UNTRUSTED');
    expect(r.check.problem).toMatch(/^\[[A-Z_]+\] /);
  });
});

describe('verdict lines agree with exit codes', () => {
  const ok = { check: { verified: true, keyid: 'k' }, exitCode: EXIT.OK } as const;
  const untrusted = { check: { verified: false, code: 'KEY_UNTRUSTED', problem: '[KEY_UNTRUSTED] …' }, exitCode: EXIT.VERIFY } as const;

  it('repro: REPRODUCIBLE only with exit 0; a verdict bundle signed by an untrusted key is FAIL, exit 7, code KEY_UNTRUSTED', () => {
    expect(reproVerdict(true, ok)).toEqual({ line: 'REPRODUCIBLE', exitCode: 0 });
    expect(reproVerdict(true, untrusted)).toEqual({
      line: 'FAIL (reproducible, but bundle signed by a key this project does not trust [KEY_UNTRUSTED])',
      exitCode: 7,
      code: 'KEY_UNTRUSTED',
    });
    // the finding decides first, as for run
    expect(reproVerdict(false, untrusted)).toEqual({ line: 'NOT REPRODUCIBLE [NOT_REPRODUCIBLE]', exitCode: 1, code: 'NOT_REPRODUCIBLE' });
    expect(reproVerdict(false, ok)).toMatchObject({ exitCode: 1 });
  });

  it('names the code of any other failure', () => {
    expect(notVerifiedReason({ verified: false, code: 'SIGNATURE_INVALID' })).toBe('bundle not verified [SIGNATURE_INVALID]');
  });
});
