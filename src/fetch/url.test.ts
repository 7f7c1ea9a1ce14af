import { describe, expect, it } from 'vitest';

import { displayUrl, urlProblem } from './url.js';

describe('input URLs', () => {
  it('accepts absolute http(s) only, without credentials', () => {
    expect(urlProblem('https://zlib.net/zlib-1.3.tar.gz')).toBeUndefined();
    expect(urlProblem('http://127.0.0.1:8080/x')).toBeUndefined();
    expect(urlProblem('file:///etc/passwd')).toMatch(/uses file:/);
    expect(urlProblem('/relative')).toBe('is not an absolute URL');
    expect(urlProblem('https://token@example.test/x')).toMatch(/carries credentials/);
  });

  it('hides user info and signed query values when showing a URL', () => {
    expect(displayUrl('https://u:secret@example.test/x')).toBe('https://***@example.test/x');
    expect(displayUrl('https://bucket.s3.test/z.tgz?X-Amz-Signature=abc&X-Amz-Credential=k&v=1')).toBe(
      'https://bucket.s3.test/z.tgz?X-Amz-Signature=***&X-Amz-Credential=***&v=1',
    );
  });
});
