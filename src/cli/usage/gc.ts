import { defineCommand, ROOT_FLAG_HELP } from '../command.js';

export const GC_OPTIONS = { all: { type: 'boolean', default: false }, engines: { type: 'string' } } as const;

export const gcCommand = defineCommand({
  name: 'gc',
  summary: "remove what this workspace's crashed runs left: labelled containers, networks, volumes, untagged images, half-written blobs",
  usage: `usage: airlock gc [--all] [--engines LIST] [--root DIR] [--json]

Only this workspace's resources are touched: those labelled with one of the runs
in its ledger, and untagged images its own builds made. A run is live while its
controller renews its lease (every 15 s; dead after 60 s unrenewed, or at once
when its process on this host is gone): runs whose lease died are marked
interrupted and their containers, networks and volumes removed. Another
workspace's resources, on a shared or remote engine another machine's, stay.
Temp files a dead process left in artifacts/tmp/ and the unsealed bundle folders
(proofs/.<run>.partial) of runs that are not live are deleted.

On every engine: the default one and those listed in AIRLOCK_ENGINES or the user
config (~/.config/airlock/config.yaml engines:); an engine that does not answer
is reported and the exit code is 3.

  --all            also remove this workspace's live runs' resources
  --engines LIST   the engines besides the default, as AIRLOCK_ENGINES writes them:
                   [name=]unix:///path|tcp://host:port|ssh://user@host,…
${ROOT_FLAG_HELP}`,
  options: GC_OPTIONS,
  load: async () => (await import('../commands/gc.js')).gc,
});
