/**
 * Trust on first use, end to end with the real engine: a new project folder trusts the key
 * of its first sealed bundle (and says so); a project that trusts another key never gets
 * one added, and every command that seals says KEY_UNTRUSTED alike in text, JSON and exit code.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKey, publicKeyToPem, signingKeyToPem, type SigningKey } from '../src/proof/keys.js';
import { busyboxSpec, REPO, writeTree } from './helpers.js';

const BIN = join(REPO, 'bin/airlock');
const UNTRUSTED_LINE = 'FAIL (passed, bundle signed by a key this project does not trust [KEY_UNTRUSTED])';
const validLine = addFormats(new Ajv({ strict: true, allErrors: true })).compile(JSON.parse(await readFile(join(REPO, 'spec/cli-output.schema.json'), 'utf8')));

// a tiny spec whose one output is the same bit for bit however it is run
const SPEC = busyboxSpec('trust-demo', '  hello:\n    image: box\n    steps:\n      - { name: hi, run: "echo hi > /out/hi.txt" }\n    outputs: ["/out"]\n');

let base: string;
let key: SigningKey;
let keyPath: string;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'airlock-trust-'));
  key = generateSigningKey();
  // the private key only, outside any project: no public key anywhere yet
  keyPath = join(base, 'home', 'signing.key');
  await mkdir(join(base, 'home'), { recursive: true });
  await writeFile(keyPath, signingKeyToPem(key), { mode: 0o600 });
});

afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

function airlock(args: string[], cwd: string, signingKey = keyPath) {
  return execa('node', [BIN, ...args], { reject: false, cwd, env: { AIRLOCK_SIGNING_KEY: signingKey } });
}

async function project(name: string): Promise<string> {
  const dir = join(base, name);
  await writeTree(dir, SPEC);
  return dir;
}

/** The --json result line, every line checked against spec/cli-output.schema.json. */
function result(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  for (const line of lines) expect(validLine(line) ? [] : validLine.errors).toEqual([]);
  return lines.at(-1)!;
}

describe('a new project folder', () => {
  it('the first run trusts the key, says so, passes (exit 0) and its bundle verifies', async () => {
    const dir = await project('fresh');
    const run = await airlock(['run'], dir);
    expect(run.exitCode, run.stderr + run.stdout).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('PASS');
    const pub = join(dir, 'locks', 'keys', `${key.keyid}.pub.pem`);
    expect(run.stderr).toContain(`airlock: first signed bundle in this project: trusting key ${key.keyid} (wrote locks/keys/${key.keyid}.pub.pem; commit it so others can verify)`);
    expect(await readFile(pub, 'utf8')).toBe(publicKeyToPem(key));

    const bundle = /^bundle: (.+)$/m.exec(run.stdout)![1]!;
    const verify = await airlock(['verify', bundle], dir);
    expect(verify.exitCode, verify.stderr).toBe(0);
    expect(verify.stdout).toContain(`signed by ${key.keyid}`);
    expect(verify.stdout.trim().split('\n').at(-1)).toBe('PASS');

    // from now on the key is simply trusted: nothing said, nothing written
    const again = await airlock(['run', '--json'], dir);
    expect(again.exitCode).toBe(0);
    expect(result(again.stdout)).toMatchObject({ ok: true, exitCode: 0, verified: { verified: true }, trust: { keyid: key.keyid, status: 'trusted' } });
    expect(await readdir(join(dir, 'locks', 'keys'))).toEqual([`${key.keyid}.pub.pem`]);

    const repro = await airlock(['repro'], dir);
    expect(repro.exitCode, repro.stderr.slice(-2000) + repro.stdout.slice(-2000)).toBe(0);
    expect(repro.stdout.trim().split('\n').at(-1)).toBe('REPRODUCIBLE');
    expect(repro.stdout).toContain(`(verified, signed by ${key.keyid})`);
  });

  it('--json: the first run carries what it trusted, as an event and in the result', async () => {
    const dir = await project('fresh-json');
    const run = await airlock(['run', '--json'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    const path = join(dir, 'locks', 'keys', `${key.keyid}.pub.pem`);
    expect(result(run.stdout)).toMatchObject({ type: 'result', command: 'run', ok: true, exitCode: 0, verdict: 'passed', trust: { keyid: key.keyid, status: 'added', path } });
    expect(run.stdout).toContain(`"type":"key-trusted","keyid":"${key.keyid}"`);
    expect(existsSync(path)).toBe(true);
  });

  it('repro in a new project folder trusts the key too and is REPRODUCIBLE, exit 0', async () => {
    const dir = await project('fresh-repro');
    const repro = await airlock(['repro', '--vary', 'none', '--json'], dir);
    expect(repro.exitCode, repro.stderr.slice(-2000)).toBe(0);
    expect(result(repro.stdout)).toMatchObject({ command: 'repro', ok: true, reproducible: true, verified: { ok: true, keyid: key.keyid }, trust: { status: 'added' } });
    expect(existsSync(join(dir, 'locks', 'keys', `${key.keyid}.pub.pem`))).toBe(true);
  });
});

describe('a project that trusts only another key', () => {
  let dir: string;
  const other = generateSigningKey();
  const keysDir = () => join(dir, 'locks', 'keys');

  beforeAll(async () => {
    dir = await project('other-key');
    await mkdir(keysDir(), { recursive: true });
    await writeFile(join(keysDir(), `${other.keyid}.pub.pem`), publicKeyToPem(other));
  });

  it('run seals, adds nothing, and says KEY_UNTRUSTED in text, JSON and exit code (7)', async () => {
    const run = await airlock(['run'], dir);
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stdout).toContain(
      `NOT verified: [KEY_UNTRUSTED] signed by ${key.keyid}, which locks/keys/ does not trust: add it with \`airlock keygen --if-missing\``,
    );
    expect(run.stdout.trim().split('\n').at(-1)).toBe(UNTRUSTED_LINE);
    expect(run.stderr).not.toContain('trusting key');
    expect(await readdir(keysDir())).toEqual([`${other.keyid}.pub.pem`]);

    const json = await airlock(['run', '--json'], dir);
    expect(json.exitCode).toBe(7);
    expect(result(json.stdout)).toMatchObject({
      type: 'result',
      ok: false,
      exitCode: 7,
      code: 'KEY_UNTRUSTED',
      verdict: 'passed',
      verified: { verified: false, code: 'KEY_UNTRUSTED' },
      trust: { keyid: key.keyid, status: 'untrusted' },
    });
  });

  it('smoke and repro say the same, with the same exit code', async () => {
    const smoke = await airlock(['smoke'], dir);
    expect(smoke.exitCode).toBe(7);
    expect(smoke.stdout.trim().split('\n').at(-1)).toBe(UNTRUSTED_LINE);

    const repro = await airlock(['repro', '--vary', 'none'], dir);
    expect(repro.exitCode, repro.stderr.slice(-2000)).toBe(7);
    expect(repro.stdout.trim().split('\n').at(-1)).toBe('FAIL (reproducible, but bundle signed by a key this project does not trust [KEY_UNTRUSTED])');
    const reproJson = await airlock(['repro', '--vary', 'none', '--json'], dir);
    expect(reproJson.exitCode).toBe(7);
    expect(result(reproJson.stdout)).toMatchObject({ ok: false, exitCode: 7, code: 'KEY_UNTRUSTED', reproducible: true, verified: { ok: false, code: 'KEY_UNTRUSTED' } });
    expect(await readdir(keysDir())).toEqual([`${other.keyid}.pub.pem`]);
  });

  it('`airlock keygen --if-missing` adds the key on purpose; then the run passes', async () => {
    const add = await airlock(['keygen', '--if-missing'], dir);
    expect(add.exitCode, add.stderr).toBe(0);
    expect((await readdir(keysDir())).sort()).toEqual([`${other.keyid}.pub.pem`, `${key.keyid}.pub.pem`].sort());
    const run = await airlock(['run'], dir);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').at(-1)).toBe('PASS');
  });
});
