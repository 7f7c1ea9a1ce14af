import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { forEachTarEntry } from '../src/archive/tar-read.js';
import { connectEngine } from '../src/engine/client.js';
import type { Engine } from '../src/engine/engine.js';
import { isAirlockError } from '../src/errors.js';
import { bootProbe, clearAccelCache, probeAccel } from '../src/vm/accel.js';
import { encodeFrame, encodeStepEnd, FrameType } from '../src/vm/frame.js';
import { hashFile } from '../src/vm/files.js';
import { buildGuestRoot } from '../src/vm/guest-root.js';
import { ensureInit } from '../src/vm/init-build.js';
import { KERNEL_LOCK_FILE, resolveKernel, type ResolvedKernel } from '../src/vm/kernel.js';
import { runInVm, type VmRunRequest, type VmRunResult, type VmStep } from '../src/vm/run-vm.js';
import { Cas } from '../src/store/cas.js';
import { lockedBusybox, REPO, repoCas } from './helpers.js';

// Real QEMU under TCG (KVM hangs on this machine; the probe finds that out and falls back).
const MiB = 1024 * 1024;
let tmp: string;
let docker: Engine;
let kernel: ResolvedKernel;
let init: string;
let busybox: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'airlock-vm-'));
  docker = connectEngine();
  kernel = await resolveKernel(await repoCas());
  busybox = await lockedBusybox();
  init = (await ensureInit({ engine: docker, cacheDir: join(tmp, 'init') })).path;
});

afterAll(async () => {
  expect(await qemuLeft()).toEqual([]);
  await rm(tmp, { recursive: true, force: true });
});

/** QEMU processes of this suite: children of this process (probes included), or naming its temp dir. */
async function qemuLeft(): Promise<string[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid=,ppid=,args=']);
  return stdout.split('\n').filter((l) => {
    const [, ppid] = l.trim().split(/\s+/);
    return l.includes('qemu-system-x86_64') && (Number(ppid) === process.pid || l.includes(tmp));
  });
}

/** `docker export` of a created (never started) container of `image`; the container goes once the stream ends. */
async function exportImage(image: string): Promise<Readable> {
  const c = await docker.containers.create({ Image: image, Cmd: ['true'], NetworkDisabled: true, Labels: { 'dev.airlock.managed': 'true', 'dev.airlock.role': 'vm-test' } });
  const stream = await c.export();
  const remove = () => void c.remove({ force: true }).catch(() => undefined);
  stream.once('close', remove);
  stream.once('end', remove);
  return stream;
}

interface Ran {
  result: VmRunResult;
  stdout: (i: number) => Buffer;
  stderr: (i: number) => Buffer;
  outputs: Map<string, Buffer>;
  outputErrors: Map<string, unknown>;
}

let runs = 0;
async function run(steps: VmStep[], opts: Partial<VmRunRequest> & { image?: string; sinkDelayMs?: number } = {}): Promise<Ran> {
  const bufs = new Map<string, Buffer[]>();
  const outputErrors = new Map<string, unknown>();
  const delay = opts.sinkDelayMs ?? 0;
  const sink = (key: string) => {
    bufs.set(key, []);
    // a slow consumer (a CAS on a busy disk): small buffer, each chunk takes `delay` ms
    const p =
      delay > 0
        ? new Writable({ highWaterMark: 16 * 1024, write: (c: Buffer, _e, cb) => void setTimeout(() => (bufs.get(key)!.push(c), cb()), delay) })
        : new PassThrough().on('data', (c: Buffer) => bufs.get(key)!.push(c));
    p.on('error', (e) => outputErrors.set(key, e));
    return p;
  };
  const workDir = join(tmp, `w${runs++}`);
  const { image, sinkDelayMs: _delay, ...rest } = opts;
  const result = await runInVm({
    rootfs: () => exportImage(image ?? 'airlock/busybox'),
    helper: busybox,
    steps,
    user: '65534:65534',
    env: {},
    outputs: [],
    vm: { memoryBytes: 512 * MiB, cpus: 2, accel: 'tcg', timeoutMs: 120_000 },
    workDir,
    stepSinks: (i) => ({ stdout: sink(`${i}.out`), stderr: sink(`${i}.err`) }),
    outputSink: (p) => sink(`out:${p}`),
    kernel,
    init,
    ...rest,
  });
  await new Promise((r) => setImmediate(r));
  const get = (k: string) => Buffer.concat(bufs.get(k) ?? []);
  const outputs = new Map([...bufs.keys()].filter((k) => k.startsWith('out:')).map((k) => [k.slice(4), get(k)]));
  return {
    result,
    stdout: (i) => get(`${i}.out`),
    stderr: (i) => get(`${i}.err`),
    outputs,
    outputErrors: new Map([...outputErrors].map(([k, v]) => [k.replace(/^out:/, ''), v])),
  };
}

const step = (name: string, argv: string[], timeoutMs = 30_000, env: Record<string, string> = {}): VmStep => ({ name, argv, env, timeoutMs });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Files of a tar in memory: path → content. */
async function untar(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  await forEachTarEntry(Readable.from([tar]), async (h, body) => {
    if (h.type !== 'file') return;
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c);
    files.set(h.name.replace(/^\.\//, ''), Buffer.concat(chunks));
  });
  return files;
}

describe('VM cells in QEMU guests with no NIC', () => {
  it('runs steps as argv with their env and user, stops at a failing step, and reports the guest', async () => {
    const r = await run(
      [
        step('hello', ['sh', '-c', 'echo hello; id -u; id -g; echo "$GREETING"; pwd; echo oops >&2'], 30_000, { GREETING: 'hi there' }),
        step('argv', ['echo', 'a b', '$HOME', '*']),
        // orphans are reparented to init, which reaps them while the step still runs
        step('orphans', ['sh', '-c', 'for i in 1 2 3 4 5 6 7 8; do (sleep 0.2 &); done; sleep 2.5; ps -o stat | grep -c "^Z"; true']),
        step('fail', ['sh', '-c', 'exit 7']),
        step('never', ['echo', 'not run']),
      ],
      { workdir: '/work', env: { GREETING: 'overridden' } },
    );
    const { result } = r;
    expect(result.guestError).toBeUndefined();
    expect(result.steps.map((s) => s?.exitCode ?? null)).toEqual([0, 0, 0, 7, null]);
    expect(result.steps[0]!.timedOut).toBe(false);
    expect(r.stdout(0).toString()).toBe('hello\n65534\n65534\nhi there\n/work\n');
    expect(r.stderr(0).toString()).toBe('oops\n');
    expect(r.stdout(1).toString()).toBe('a b $HOME *\n');
    expect(r.stdout(2).toString()).toBe('0\n');
    expect(r.stdout(4).length).toBe(0);

    expect(result.accel).toEqual({ used: 'tcg', reason: 'tcg requested' });
    expect(result.qemu.argv).toEqual(expect.arrayContaining(['-nic', 'none', '-nodefaults', '-no-user-config', '-accel', 'tcg']));
    expect(result.qemu.version).toMatch(/^\d+\.\d+/);
    expect(result.kernel).toMatchObject({ path: kernel.path, sha256: kernel.sha256, version: kernel.version });
    expect(result.guestRoot).toMatchObject({ kind: 'initramfs', sha256: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await hashFile(result.guestRoot.path)).sha256).toBe(result.guestRoot.sha256);
    expect(result.bootMs).toBeGreaterThan(0);
    expect(result.totalMs).toBeGreaterThanOrEqual(result.bootMs);
    const log = await readFile(result.bootLogPath, 'utf8');
    expect(log).toContain('airlock-init');
    expect(log).toMatch(/reboot: Power down/);
  });

  it('kills a step at its timeout (with what it started), still reports, and collects outputs', async () => {
    const r = await run(
      [step('hang', ['sh', '-c', 'echo before > /out/f; sleep 1000 & echo started; sleep 600'], 2_000), step('after', ['echo', 'no'])],
      { outputs: ['/out'] },
    );
    expect(r.result.guestError).toBeUndefined();
    expect(r.result.steps[0]).toMatchObject({ exitCode: 137, timedOut: true });
    expect(r.result.steps[0]!.durationMs).toBeGreaterThanOrEqual(2_000);
    expect(r.result.steps[0]!.durationMs).toBeLessThan(10_000);
    expect(r.result.steps[1]).toBeNull();
    expect(r.stdout(0).toString()).toBe('started\n');
    expect((await untar(r.outputs.get('/out')!)).get('f')?.toString()).toBe('before\n');
  });

  it('has no network: only lo, and connecting anywhere fails', async () => {
    const r = await run([
      step('net', [
        'sh',
        '-c',
        'ls /sys/class/net; ip -o link | cut -d: -f2; nc -w 2 1.1.1.1 80 </dev/null; echo "nc=$?"; ' +
          '(nc -l -p 9000 > /tmp/got &); sleep 1; echo over-lo | nc -w 2 127.0.0.1 9000; sleep 1; cat /tmp/got',
      ]),
    ]);
    expect(r.result.steps[0]!.exitCode).toBe(0);
    const out = r.stdout(0).toString().split('\n');
    expect(out[0]).toBe('lo');
    expect(out[1]!.trim()).toBe('lo');
    expect(out).toContain('nc=1');
    expect(out).toContain('over-lo');
    expect(r.stderr(0).toString()).toMatch(/unreachable/i);
    expect(r.result.qemu.argv.join(' ')).not.toMatch(/-netdev|-net |virtio-net|e1000/);
  });

  it('a step that prints frames cannot forge a result, and even root cannot reach the channel', async () => {
    const fake = Buffer.concat([
      encodeFrame({ type: FrameType.STEP_END, index: 0, payload: encodeStepEnd({ exitCode: 0, timedOut: false, durationMs: 1 }) }),
      encodeFrame({ type: FrameType.STEP_START, index: 1 }),
      encodeFrame({ type: FrameType.STEP_END, index: 1, payload: encodeStepEnd({ exitCode: 0, timedOut: false, durationMs: 1 }) }),
      encodeFrame({ type: FrameType.DONE }),
    ]);
    const printf = [...fake].map((b) => `\\${b.toString(8).padStart(3, '0')}`).join('');
    const r = await run(
      [
        step('forge', ['sh', '-c', `printf '${printf}'; printf '${printf}' >&2; exit 3`]),
        step('never', ['echo', 'not run']),
      ],
      { user: '0:0' },
    );
    expect(r.result.guestError).toBeUndefined();
    expect(r.result.steps).toEqual([expect.objectContaining({ exitCode: 3, timedOut: false }), null]);
    expect(r.stdout(0).equals(fake)).toBe(true);
    expect(r.stderr(0).equals(fake)).toBe(true);

    const probe = await run(
      [
        step('reach', [
          'sh',
          '-c',
          [
            'ls /dev | tr "\\n" " "; echo',
            'dev=$(cat /sys/class/virtio-ports/*/dev | head -1); echo "port=$dev"',
            'mknod /tmp/ch c ${dev%%:*} ${dev##*:} && echo MKNOD_OK',
            'cat /proc/1/environ >/dev/null && echo ENVIRON_OK',
            // init's fds can be listed by a root step (it owns /proc/1) but not opened: init is not dumpable
            'for f in /proc/1/fd/*; do (echo x >> "$f") 2>/dev/null && echo "FD_OK $f"; readlink "$f" 2>/dev/null && echo READLINK_OK; done',
            'mount -t devtmpfs d /mnt 2>/dev/null && echo MOUNT_OK',
            'grep CapEff /proc/self/status',
            'echo end',
          ].join('; '),
        ]),
      ],
      { user: '0:0' },
    );
    const out = probe.stdout(0).toString();
    expect(out).toContain('end');
    expect(out).toMatch(/port=\d+:\d+/);
    expect(out).not.toMatch(/MKNOD_OK|ENVIRON_OK|FD_OK|READLINK_OK|MOUNT_OK/);
    expect(out).toContain('CapEff:\t0000000000000000');
    const devs = out.split('\n')[0]!.trim().split(' ');
    expect(devs).not.toContain('vport0p1');
    expect(devs).not.toContain('ttyS0');
  });

  it('brings outputs back intact: a binary and 20 MiB of random bytes, by sha256', async () => {
    const r = await run(
      [
        step('make', ['sh', '-c', 'mkdir -p /out/bin && cp /.airlock/busybox /out/bin/busybox && head -c 20971520 /dev/urandom > /out/big && cd /out && sha256sum bin/busybox big']),
      ],
      { outputs: ['/out', '/missing'], vm: { memoryBytes: 768 * MiB, cpus: 2, accel: 'tcg', timeoutMs: 180_000 } },
    );
    expect(r.result.steps[0]!.exitCode).toBe(0);
    const guestSums = new Map(r.stdout(0).toString().trim().split('\n').map((l) => l.split(/\s+/).reverse() as [string, string]));
    const files = await untar(r.outputs.get('/out')!);
    expect(files.get('big')!.length).toBe(20 * MiB);
    expect(sha256(files.get('big')!)).toBe(guestSums.get('big'));
    expect(sha256(files.get('bin/busybox')!)).toBe(guestSums.get('bin/busybox'));
    expect(sha256(files.get('bin/busybox')!)).toBe(sha256(await readFile(busybox)));
    expect(r.result.outputs[0]).toMatchObject({ path: '/out', ok: true });
    expect(r.result.outputs[1]).toMatchObject({ path: '/missing', ok: false });
    expect(isAirlockError(r.outputErrors.get('/missing'), 'STEP_FAILED')).toBe(true);
  });

  it('holds the guest back while a sink is slow, losing nothing', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const r = await run([step('spew', ['sh', '-c', 'head -c 6291456 /dev/urandom | tee /out/blob; sha256sum < /out/blob'])], { outputs: ['/out'], sinkDelayMs: 3 });
      expect(r.result.guestError).toBeUndefined();
      expect(r.result.steps[0]!.exitCode).toBe(0);
      // stdout carried the random bytes themselves before their digest line
      const out = r.stdout(0);
      const digestLine = out.subarray(out.length - 68).toString(); // "<64 hex>  -\n"
      expect(out.length).toBe(6 * MiB + 68);
      expect(sha256(out.subarray(0, 6 * MiB))).toBe(digestLine.slice(0, 64));
      expect(sha256((await untar(r.outputs.get('/out')!)).get('blob')!)).toBe(digestLine.slice(0, 64));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('kills the guest at the wall-clock limit and says so', async () => {
    const started = performance.now();
    const r = await run([step('forever', ['sleep', '600'], 600_000)], { vm: { memoryBytes: 512 * MiB, cpus: 2, accel: 'tcg', timeoutMs: 12_000 } });
    expect(r.result.guestError).toMatch(/wall-clock limit of 12000 ms/);
    expect(r.result.steps).toEqual([null]);
    expect(performance.now() - started).toBeLessThan(60_000);
    expect(await qemuLeft()).toEqual([]);
  });

  it('an abort kills the guest and throws INTERRUPTED', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 8_000);
    const err = await run([step('forever', ['sleep', '600'], 600_000)], { signal: ac.signal }).catch((e: unknown) => e);
    expect(isAirlockError(err, 'INTERRUPTED')).toBe(true);
    expect(await qemuLeft()).toEqual([]);
  });

  it('a guest whose controller was SIGKILLed powers itself off at its own deadline', async () => {
    const workDir = join(tmp, 'orphan');
    const script = join(tmp, 'orphan.mjs');
    const src = join(import.meta.dirname, '..', 'src');
    await writeFile(
      script,
      `import { PassThrough } from 'node:stream';
import { runInVm } from '${src}/vm/run-vm.ts';
import { connectEngine } from '${src}/engine/client.ts';
const c = await connectEngine().containers.create({ Image: 'airlock/busybox', Cmd: ['true'] });
const rootfs = await c.export();
rootfs.once('end', () => c.remove({ force: true }).catch(() => {}));
const sink = () => new PassThrough().resume();
await runInVm({ rootfs, helper: ${JSON.stringify(busybox)}, steps: [{ name: 's', argv: ['sleep', '600'], env: {}, timeoutMs: 600000 }],
  user: '65534:65534', env: {}, outputs: [], workDir: ${JSON.stringify(workDir)}, kernel: ${JSON.stringify(kernel)}, init: ${JSON.stringify(init)},
  vm: { memoryBytes: 256 * 1024 * 1024, cpus: 1, accel: 'tcg', timeoutMs: 8000 },
  stepSinks: () => ({ stdout: sink(), stderr: sink() }), outputSink: sink });
`,
    );
    const child = execa('node', ['--import', join(src, 'store/testing/register-ts.mjs'), script], { reject: false });
    const mine = async () => (await qemuLeft()).filter((l) => l.includes(workDir));
    const waitFor = async (cond: () => Promise<boolean>, ms: number) => {
      for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 250))) if (await cond()) return true;
      return false;
    };
    expect(await waitFor(async () => (await mine()).length > 0, 60_000)).toBe(true);
    // let the guest boot and get its plan, then kill the controller outright
    expect(await waitFor(async () => (await readFile(join(workDir, 'boot.log'), 'utf8').catch(() => '')).includes('ready:'), 60_000)).toBe(true);
    child.kill('SIGKILL');
    await child;
    // guest lifetime = 8 s + 10 s grace, counted from the plan's arrival
    expect(await waitFor(async () => (await mine()).length === 0, 40_000)).toBe(true);
    expect(await readFile(join(workDir, 'boot.log'), 'utf8')).toMatch(/lifetime over, powering off/);
  });

  it('boots an ext4 guest root read-only from a snapshot disk that never changes on the host', async () => {
    const r = await run([step('fs', ['sh', '-c', 'grep " / " /proc/mounts; touch /x 2>&1; echo ok > /tmp/y && cat /tmp/y; ls -ld /bin/busybox'])], {
      vm: { memoryBytes: 512 * MiB, cpus: 2, accel: 'tcg', timeoutMs: 120_000, guestRoot: 'ext4' },
    });
    expect(r.result.guestError).toBeUndefined();
    expect(r.result.guestRoot.kind).toBe('ext4');
    const out = r.stdout(0).toString();
    expect(out).toMatch(/^\/dev\/vda \/ ext4 ro/);
    expect(out).toMatch(/Read-only file system/);
    expect(out).toContain('ok\n');
    expect(r.result.qemu.argv.join(' ')).toMatch(/snapshot=on/);
    expect((await hashFile(r.result.guestRoot.path)).sha256).toBe(r.result.guestRoot.sha256);
  });
});

describe('guest roots are kept in the CAS by the image they come from', () => {
  it('builds a root once, then boots later cells from the CAS without exporting the image again', async () => {
    const cas = await Cas.open(await mkdtemp(join(tmp, 'roots-cas-')));
    const rootCache = { cas, dir: join(cas.root, 'vm', 'roots'), rootfsDigest: 'sha256:' + 'ab'.repeat(32) };
    let exports = 0;
    const rootfs = async () => {
      exports++;
      return exportImage('airlock/busybox');
    };
    const first = await run([step('hi', ['echo', 'hi'])], { rootfs, rootCache });
    const second = await run([step('hi', ['echo', 'hi'])], { rootfs, rootCache });
    expect(exports).toBe(1);
    expect([first.result.guestRoot.cached, second.result.guestRoot.cached]).toEqual([false, true]);
    expect(second.stdout(0).toString()).toBe('hi\n');
    // the same bytes, now read from the CAS
    expect(second.result.guestRoot.sha256).toBe(first.result.guestRoot.sha256);
    expect(second.result.guestRoot.path).toBe(cas.pathOf(first.result.guestRoot.sha256));
    // another image (digest) or a root the CAS lost is built again
    await run([step('hi', ['echo', 'hi'])], { rootfs, rootCache: { ...rootCache, rootfsDigest: 'sha256:' + 'cd'.repeat(32) } });
    expect(exports).toBe(2);
    await rm(cas.pathOf(first.result.guestRoot.sha256), { force: true });
    const rebuilt = await run([step('hi', ['echo', 'hi'])], { rootfs, rootCache });
    expect([exports, rebuilt.result.guestRoot.cached]).toEqual([3, false]);
  });
});

describe('guest roots, init and kernel are pinned and reproducible', () => {
  it('builds the same guest root (initramfs and ext4) from two exports of the same image', async () => {
    const facts = [];
    for (const kind of ['initramfs', 'initramfs', 'ext4', 'ext4'] as const) {
      const workDir = await mkdtemp(join(tmp, 'root-'));
      const root = await buildGuestRoot({ rootfs: await exportImage('airlock/busybox'), helper: busybox, init, modules: kernel.modules, workDir, kind, memoryBytes: 512 * MiB });
      facts.push(root);
    }
    expect(facts[0]!.sha256).toBe(facts[1]!.sha256);
    expect(facts[2]!.sha256).toBe(facts[3]!.sha256);
    expect(facts[2]!.initrd.sha256).toBe(facts[3]!.initrd.sha256);
    expect(facts[0]!.sha256).not.toBe(facts[2]!.sha256);
  });

  it('compiles airlock-init in the engine to the same bytes, and caches it by source', async () => {
    const a = await ensureInit({ engine: docker, cacheDir: join(tmp, 'init') });
    expect(a.built).toBe(false);
    const b = await ensureInit({ engine: docker, cacheDir: join(tmp, 'init-again') });
    expect(b.built).toBe(true);
    expect(b.digest).toBe(a.digest);
  });

  it('takes the kernel only from its locked .deb: digests checked, /boot ignored, the lock never rewritten', async () => {
    const locks = join(tmp, 'locks-pin');
    await mkdir(locks, { recursive: true });
    const lockPath = join(locks, KERNEL_LOCK_FILE);
    const original = await readFile(join(REPO, 'locks', KERNEL_LOCK_FILE), 'utf8');
    const lock = JSON.parse(original);
    expect(kernel.path.startsWith(join(REPO, 'artifacts', 'kernels', lock.kernel.package.sha256))).toBe(true);
    expect(kernel).toMatchObject({ release: lock.kernel.release, sha256: lock.kernel.vmlinuz, deb: `sha256:${lock.kernel.package.sha256}` });
    expect(Object.keys(lock.kernel.modules)).toEqual(expect.arrayContaining(['virtio_console', 'virtio_pci', 'virtio_blk']));

    const tampered = JSON.stringify({ ...lock, kernel: { ...lock.kernel, vmlinuz: `sha256:${'0'.repeat(64)}` } });
    await writeFile(lockPath, tampered);
    const err = await resolveKernel(await repoCas(), { locksDir: locks }).catch((e: unknown) => e);
    expect(isAirlockError(err, 'BASE_LOCK_MISMATCH')).toBe(true);
    expect((err as Error).message).toMatch(/hashes to sha256:[0-9a-f]{64}, locked sha256:0{64}/);
    expect(await readFile(lockPath, 'utf8')).toBe(tampered);

    const missing = await resolveKernel(await repoCas(), { locksDir: join(tmp, 'no-locks') }).catch((e: unknown) => e);
    expect(isAirlockError(missing, 'BASE_LOCK_MISMATCH')).toBe(true);
    expect((missing as Error).message).toContain('airlock base update --only kernel');
  });

  it('probes KVM within its bound and falls back to TCG, once per process (and host boot)', async () => {
    clearAccelCache();
    const t0 = performance.now();
    const auto = await probeAccel('auto', 3_000, { kernel: kernel.path, busybox });
    const firstMs = performance.now() - t0;
    expect(['kvm', 'tcg']).toContain(auto.used);
    expect(auto.reason).not.toBe('');
    expect(firstMs).toBeLessThan(10_000);
    const t1 = performance.now();
    expect(await probeAccel('auto', 3_000, { kernel: kernel.path, busybox })).toEqual(auto);
    expect(performance.now() - t1).toBeLessThan(100);
    if (auto.used === 'tcg') {
      const err = await probeAccel('kvm', 3_000, { kernel: kernel.path, busybox }).catch((e: unknown) => e);
      expect(isAirlockError(err, 'ENGINE_ERROR')).toBe(true);
    }
    // the probe itself works when the accelerator does
    expect(await bootProbe('tcg', 60_000, { kernel: kernel.path, busybox })).toMatchObject({ used: 'tcg', reason: expect.stringMatching(/tcg probe booted/) });
    expect(await qemuLeft()).toEqual([]);
  });
});
