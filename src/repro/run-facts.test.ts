import { describe, expect, it } from 'vitest';

import type { RunRecord } from '../proof/run-record.js';
import { cpusetSize, passwdNames, runFacts } from './compare-runs.js';

const record = (over: Partial<RunRecord> = {}): RunRecord => ({
  runId: 'r',
  startedAt: new Date(0),
  finishedAt: new Date(1000),
  images: [],
  cells: [],
  users: { cell: '65534:65534' },
  hostCpus: 2,
  ...over,
});

describe('runFacts', () => {
  it('takes each fact from the run’s variation, else airlock’s defaults', () => {
    expect(runFacts(record())).toMatchObject({ hostname: 'airlock', user: '65534', uid: 65534, gid: 65534, umask: '0022', cpus: 2, tz: 'UTC', tzValue: '', locale: '', envReversed: false });
    const varied = runFacts(record({ variation: { user: '12345:23456', cpuset: '0', tz: '<+14>-14', umask: '0077', reverseEnvOrder: true, hostname: 'h', domainname: 'd' } }));
    expect(varied).toMatchObject({ user: '12345', uid: 12345, gid: 23456, cpus: 1, tz: 'Etc/GMT-14', tzValue: '<+14>-14', umask: '0077', envReversed: true, hostname: 'h', domainname: 'd' });
  });

  it('names the building user from the images’ /etc/passwd when the policy gives only ids', () => {
    const names = passwdNames('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\nbroken line\n');
    expect([...names]).toEqual([[0, 'root'], [65534, 'nobody']]);
    expect(runFacts(record(), '', names).user).toBe('nobody');
    expect(runFacts(record({ variation: { user: '12345:12345' } }), '', names).user).toBe('12345');
  });

  it('counts the CPUs of a cpuset list', () => {
    expect([cpusetSize('0'), cpusetSize('0-3'), cpusetSize('0,2-3'), cpusetSize('')]).toEqual([1, 4, 3, 0]);
  });
});
