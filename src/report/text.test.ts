import { describe, expect, it } from 'vitest';
import { boundLog, escapeHtml, escapeXmlAttr, escapeXmlText, formatBytes, formatDuration, seconds, stripAnsi, stripInvalidXmlChars } from './text.js';

describe('report text helpers', () => {
  it('keeps exactly the characters XML 1.0 allows', () => {
    expect(stripInvalidXmlChars('a\u0000b\u0008c\u000bd\u001fe\tf\ng\rh')).toBe('abcde\tf\ng\rh');
    expect(stripInvalidXmlChars('x\ud800y\udc00z\ufffe\uffff')).toBe('xyz');
    expect(stripInvalidXmlChars('emoji \u{1f600} and \u{10ffff} stay')).toBe('emoji \u{1f600} and \u{10ffff} stay');
  });

  it('escapes XML text and attributes', () => {
    expect(escapeXmlText('a < b && c > d ]]>')).toBe('a &lt; b &amp;&amp; c &gt; d ]]&gt;');
    expect(escapeXmlAttr('say "hi"\n\tnow\r')).toBe('say &quot;hi&quot;&#10;&#9;now&#13;');
    expect(escapeHtml(`<a href='x'>"&"</a>`)).toBe('&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;');
  });

  it('strips terminal escapes', () => {
    expect(stripAnsi('\u001b[1;31mred\u001b[0m \u001b]0;title\u0007done \u001b[?25l')).toBe('red done ');
  });

  it('bounds a log without splitting a surrogate pair', () => {
    expect(boundLog('abc', 5)).toEqual({ text: 'abc', cut: 0 });
    expect(boundLog('abcdef', 4)).toEqual({ text: 'abcd', cut: 2 });
    expect(boundLog('ab\u{1f600}cd', 3)).toEqual({ text: 'ab', cut: 4 });
  });

  it('formats times and sizes', () => {
    expect(seconds(1234)).toBe('1.234');
    expect(seconds(-5)).toBe('0.000');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1500)).toBe('1.5 s');
    expect(formatDuration(83_000)).toBe('1 min 23 s');
    expect(formatDuration(3_723_000)).toBe('1 h 02 min');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(3 * 1024 * 1024)).toBe('3.0 MiB');
  });
});
