import { defineCommand } from '../command.js';

export const KEY_CAS_OPTIONS = { key: { type: 'string', multiple: true }, cas: { type: 'string', multiple: true } } as const;

export const verifyCommand = defineCommand({
  name: 'verify',
  summary: 'verify a proof bundle offline: signature, statement, transcript chain, blobs, policy',
  usage: `usage: airlock verify <bundle-dir | bundle-dir/envelope.sigstore.json> [--key PEM]... [--cas DIR]... [--root DIR] [--json]

The envelope is read from envelope.dsse.json, else from envelope.sigstore.json (the
same signature as a Sigstore bundle), or from the one of the two named. Checks, in order, stopping at the first failure with its code: envelope shape,
signature over DSSE PAE against a trusted key, statement and predicate types,
the transcript's hash chain, every subject and manifest blob re-hashed, and the
recorded policy (network none, capabilities dropped, read-only root) in force.
Never touches the network or the engine. Exit 0 verified, 7 not verified
(KEY_UNTRUSTED when no trusted key signed it).

  --key PEM   trust only this public key (repeatable; default: every locks/keys/*.pub.pem)
  --cas DIR   a CAS root holding blobs/sha256/ (repeatable; default: the bundle's
              own blobs/, then ../../artifacts next to the bundle, then the workspace's artifacts/)
  --root DIR  workspace whose locks/ hold the trusted keys (default: AIRLOCK_ROOT, else the
              folder of the spec found here or above, else here)`,
  options: KEY_CAS_OPTIONS,
  allowPositionals: true,
  load: async () => {
    // A one-shot verify parses each schema a few times: zod's compiled fast path per object
    // schema (new Function on first parse) costs more than it saves (~30 ms of start-up,
    // issue 12). zod reads the setting when a schema is built, so before verify's modules load.
    (await import('zod')).z.config({ jitless: true });
    return (await import('../commands/verify.js')).verify;
  },
});
