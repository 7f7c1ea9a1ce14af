/**
 * What `airlock repro` varies between runs of a cell, after reprotest: each field
 * left out keeps airlock's fixed default, so two runs differ only where asked.
 */
export interface Variation {
  /** container hostname (default: "airlock") */
  hostname?: string;
  domainname?: string;
  /** TZ of every step */
  tz?: string;
  /** LANG and LC_ALL of every step */
  locale?: string;
  /** umask steps start with, octal (e.g. "0077") */
  umask?: string;
  /** "uid:gid" replacing the policy user */
  user?: string;
  /** the CPUs the cell may use (cpuset, e.g. "0" or "0-1") */
  cpuset?: string;
  /** the working directory steps start in, when the environment sets none */
  workdir?: string;
  /** pass environment variables in reverse order */
  reverseEnvOrder?: boolean;
  /** FAKETIME for images that carry libfaketime (a shifted clock) */
  faketime?: string;
  /** where libfaketime is in the image: preloaded so FAKETIME takes effect */
  faketimeLibrary?: string;
}

export const DEFAULT_HOSTNAME = 'airlock';

/** Environment variables a variation adds to every step. */
export function variationEnv(v: Variation | undefined): Record<string, string> {
  if (!v) return {};
  return {
    ...(v.tz ? { TZ: v.tz } : {}),
    ...(v.locale ? { LANG: v.locale, LC_ALL: v.locale } : {}),
    ...(v.faketime ? { FAKETIME: v.faketime } : {}),
    ...(v.faketime && v.faketimeLibrary ? { LD_PRELOAD: v.faketimeLibrary } : {}),
  };
}

/** `KEY=value` list, in reverse order when the variation asks for it. */
export function envList(env: Record<string, string>, v?: Variation): string[] {
  const list = Object.entries(env).map(([k, val]) => `${k}=${val}`);
  return v?.reverseEnvOrder ? list.reverse() : list;
}
