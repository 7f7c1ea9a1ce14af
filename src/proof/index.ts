export { canonicalBytes, canonicalJson } from './canonical-json.js';
export { DigestSchema, Sha256HexSchema } from './digest-schema.js';
export { decodeBase64, type Envelope, EnvelopeSchema, pae, signEnvelope, verifyEnvelope } from './dsse.js';
export {
  defaultKeyPath,
  generateSigningKey,
  type KeyPairPaths,
  keyIdOf,
  loadSigningKey,
  loadTrustedKeys,
  type PublicKey,
  publicKeyFromPem,
  publicKeyToPem,
  type SigningKey,
  signingKeyFromPem,
  signingKeyFromSeed,
  signingKeyToPem,
  writeKeyPair,
  type WriteKeyPairOptions,
} from './keys.js';
export {
  BUNDLE_FILES,
  BUNDLE_VERSION,
  bundleJsonSchema,
  bundleJsonSchemaText,
  type Manifest,
  type ManifestBlob,
  ManifestBlobSchema,
  ManifestSchema,
} from './manifest.js';
export { sealBundle, type SealOptions, type SealResult } from './seal.js';
export {
  BUILD_TYPE,
  buildPredicate,
  buildStatement,
  type EnvironmentFacts,
  type ImageFacts,
  PAYLOAD_TYPE,
  PREDICATE_TYPE,
  type PolicyFacts,
  type PredicateFacts,
  type ProvenancePredicate,
  ProvenancePredicateSchema,
  type ResourceDescriptor,
  type Statement,
  STATEMENT_TYPE,
  StatementSchema,
  type Verdict,
} from './statement.js';
export {
  type BlobRef,
  collectBlobRefs,
  lineDigest,
  parseTranscript,
  type TranscriptEvent,
  TranscriptEventSchema,
  TranscriptWriter,
  verifyChain,
} from './transcript.js';
export {
  EVENT_SCHEMAS,
  type EventData,
  eventsOf,
  parseEvent,
  TRANSCRIPT_PHASES,
  type TranscriptPhase,
  type TypedEvent,
} from './transcript-events.js';
