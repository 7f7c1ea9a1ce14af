import { relative } from 'node:path';
import { EXIT, isAirlockError, type ExitCode } from '../errors.js';
import { loadTrustedKeys, type PublicKey } from '../proof/keys.js';
import { trustOnFirstUse, type TrustOutcome } from '../proof/trust.js';
import type { Reporter } from '../run/reporter.js';
import type { BundleCheck } from '../run/reports.js';
import { verifyBundle, type VerifyReport } from '../verify/index.js';

export interface SealedCheck {
  trust: TrustOutcome;
  /** what the reports and `--json` show: verified by whom, or the problem and its code */
  check: BundleCheck;
  verification: VerifyReport | undefined;
  /** 0, or the exit code of the verification's error (7; 10 when verify itself broke) */
  exitCode: ExitCode;
}

export interface SealedCheckOptions {
  bundleDir: string;
  /** the key the bundle was just signed with */
  key: PublicKey;
  workspace: { root: string; locksDir: string; artifactsDir: string };
  reporter: Reporter;
}

/**
 * What `run`, `smoke`, `matrix` and `repro` do with the bundle they sealed: trust the signing
 * key on first use (proof/trust.ts), then verify the bundle exactly as `airlock verify` would
 * in this workspace, so the command's verdict and `airlock verify`'s always agree.
 */
export async function trustAndVerify(opts: SealedCheckOptions): Promise<SealedCheck> {
  const { workspace, reporter } = opts;
  const trust = await trustOnFirstUse(opts.key, workspace.locksDir);
  if (trust.status === 'added') {
    reporter.event({ type: 'key-trusted', keyid: trust.keyid, path: trust.path });
    reporter.info(trustedOnFirstUseLine(trust, workspace.root));
  }
  try {
    const verification = await verifyBundle({ bundleDir: opts.bundleDir, trustedKeys: await loadTrustedKeys(workspace.locksDir), blobDirs: [workspace.artifactsDir] });
    reporter.event({ type: 'verified', ok: true, keyid: verification.keyid });
    return { trust, check: { verified: true, keyid: verification.keyid }, verification, exitCode: EXIT.OK };
  } catch (e) {
    if (!isAirlockError(e)) throw e;
    const message = e.code === 'KEY_UNTRUSTED' && trust.status === 'untrusted' ? untrustedMessage(trust, workspace.root) : e.message;
    const check: BundleCheck = { verified: false, code: e.code, problem: `[${e.code}] ${message}` };
    reporter.event({ type: 'verified', ok: false, code: e.code, problem: check.problem });
    return { trust, check, verification: undefined, exitCode: e.exitCode };
  }
}

/** The one stderr line of trust on first use. */
export function trustedOnFirstUseLine(trust: TrustOutcome, root: string): string {
  return `airlock: first signed bundle in this project: trusting key ${trust.keyid} (wrote ${relative(root, trust.path)}; commit it so others can verify)`;
}

/** KEY_UNTRUSTED in words that say what to do about it. */
export function untrustedMessage(trust: TrustOutcome, root: string): string {
  const where = relative(root, trust.path);
  return `signed by ${trust.keyid}, which locks/keys/ does not trust: add it with \`airlock keygen --if-missing\` (writes ${where}), or verify with \`airlock verify --key <its .pub.pem>\``;
}

/** Why a sealed bundle failed its check, as the last line of a verdict says it (ends in the code). */
export function notVerifiedReason(check: BundleCheck): string {
  return check.code === 'KEY_UNTRUSTED' ? 'bundle signed by a key this project does not trust [KEY_UNTRUSTED]' : `bundle not verified [${check.code ?? 'INTERNAL'}]`;
}

/**
 * The last line, exit code and JSON `code` of a repro, which always agree. Like `run`: the
 * command's own finding decides first (not reproducible: 1), then its bundle's verification
 * (reproducible but not verified: that error's exit code, 7 for KEY_UNTRUSTED).
 */
export function reproVerdict(reproducible: boolean, sealed: Pick<SealedCheck, 'check' | 'exitCode'>): { line: string; exitCode: ExitCode; code?: string } {
  if (!reproducible) return { line: 'NOT REPRODUCIBLE [NOT_REPRODUCIBLE]', exitCode: EXIT.FAILED, code: 'NOT_REPRODUCIBLE' };
  if (sealed.exitCode !== EXIT.OK) {
    return { line: `FAIL (reproducible, but ${notVerifiedReason(sealed.check)})`, exitCode: sealed.exitCode, ...(sealed.check.code ? { code: sealed.check.code } : {}) };
  }
  return { line: 'REPRODUCIBLE', exitCode: EXIT.OK };
}
