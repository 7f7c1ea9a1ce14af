/**
 * Input URLs: which are acceptable, and how they are shown. Pure functions.
 *
 * Inputs are identified by their sha256, so the URL is only a hint of where to look; still,
 * credentials never belong in a spec (they would end up in locks, transcripts and proofs), and
 * redirect targets often carry signed query strings (S3, GCS), so anything displayed or
 * recorded goes through `displayUrl`.
 */

/** Query parameters whose values are secrets in the signed URLs CDNs and object stores redirect to. */
const SECRET_PARAM_RE = /sig|token|key|credential|secret|auth|password|policy/i;

/**
 * Why `url` cannot be fetched, or undefined when it can: only absolute http(s) URLs
 * without user info are accepted.
 */
export function urlProblem(url: string | URL): string | undefined {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return 'is not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    return `uses ${u.protocol.replace(/:$/, '')}:, only http and https are fetched`;
  }
  if (u.username !== '' || u.password !== '') {
    return 'carries credentials (user:password@); put them nowhere in the spec, serve the input without them';
  }
  return undefined;
}

/** The URL with user info removed and secret-looking query values replaced by `***`. */
export function displayUrl(url: string | URL): string {
  let u: URL;
  try {
    u = new URL(typeof url === 'string' ? url : url.href);
  } catch {
    return String(url).replace(/\/\/[^/@]*@/, '//***@');
  }
  if (u.username !== '' || u.password !== '') {
    u.username = '***';
    u.password = '';
  }
  for (const key of [...new Set(u.searchParams.keys())]) {
    if (SECRET_PARAM_RE.test(key)) u.searchParams.set(key, '***');
  }
  return u.href;
}
