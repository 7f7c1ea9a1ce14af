import { describe, expect, it } from 'vitest';
import { listeningPorts, ListeningPortWaitStrategy, portVerdict } from './port.js';

// Read from busybox httpd (-p 8080, IPv6 wildcard) and `nc -l -p 6379` with one client connected.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123031 1 000000008927cfd4 100 0 0 10 0
   1: 0100007F:CC92 0100007F:1F90 06 00000000:00000000 03:00001750 00000000     0        0 0 3 00000000888f1ed5
   2: 0B00007F:AA93 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123031 1 000000008927cfd4 100 0 0 10 0
  10: 020011AC:1F41 030011AC:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 5555 1 000000008927cfd4 20 4 30 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 126949 1 000000004a245354 100 0 0 10 0
`;

describe('listeningPorts', () => {
  it('finds LISTEN sockets in tcp and tcp6, ignoring other states and headers', () => {
    expect([...listeningPorts(TCP + TCP6)].sort((a, b) => a - b)).toEqual([6379, 8080, 43667]);
  });

  it('does not count a connection whose local or remote port matches (ESTABLISHED, TIME_WAIT)', () => {
    expect(listeningPorts(TCP).has(8001)).toBe(false); // 0x1F41, ESTABLISHED
    expect(listeningPorts(TCP).has(52370)).toBe(false); // 0xCC92, TIME_WAIT
    expect(listeningPorts(TCP).has(8080)).toBe(false); // only the remote side of row 1; the listener is in tcp6
  });

  it('reads nothing from empty or foreign text', () => {
    expect(listeningPorts('').size).toBe(0);
    expect(listeningPorts('cat: /proc/net/tcp6: No such file or directory\n').size).toBe(0);
  });
});

describe('portVerdict', () => {
  it('is ready when the port listens, even if tcp6 is missing (cat exits 1)', () => {
    expect(portVerdict(6379, 1, `${TCP}cat: can't open '/proc/net/tcp6': No such file or directory\n`)).toEqual({ kind: 'ready' });
  });

  it('keeps waiting while the tables are readable but nothing listens there', () => {
    expect(portVerdict(9999, 0, TCP + TCP6)).toEqual({ kind: 'waiting', reason: 'nothing listens on tcp port 9999 yet' });
  });

  it('fails at once when the reader cannot run or the tables cannot be read', () => {
    const missing = portVerdict(80, 126, 'OCI runtime exec failed: exec: "cat": executable file not found in $PATH');
    expect(missing.kind).toBe('failed');
    expect(missing.kind === 'failed' && missing.reason).toContain('executable file not found');
    expect(portVerdict(80, 1, 'cat: /proc/net/tcp: Permission denied').kind).toBe('failed');
  });
});

describe('ListeningPortWaitStrategy', () => {
  it('validates the port with an exact message', () => {
    expect(() => new ListeningPortWaitStrategy(0)).toThrow('Expected `port` to be an integer from 1 to 65535, got `0`');
    expect(() => new ListeningPortWaitStrategy(70000)).toThrow(TypeError);
    expect(new ListeningPortWaitStrategy(5432).description).toBe('port 5432');
  });
});
