import { z } from 'zod';
import { type Digest, digestHex } from '../util/digest.js';
import { DigestSchema, Sha256HexSchema } from './digest-schema.js';

/**
 * in-toto Statement v1 carrying a SLSA Provenance v1 predicate. Where airlock's
 * own facts go inside the predicate is documented in docs/formats.md.
 */
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://airlock.dev/buildtypes/run/v1';
/** The DSSE payloadType of an in-toto statement. */
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
/** Annotation keys airlock sets on byproducts. */
export const ANNOTATION_PREFIX = 'dev.airlock.';

// ---------------------------------------------------------------- generic in-toto shapes

/** in-toto ResourceDescriptor; unknown fields are kept (in-toto parsing rules say ignore them). */
export const ResourceDescriptorSchema = z.looseObject({
  name: z.string().optional(),
  uri: z.string().optional(),
  digest: z.record(z.string(), z.string()).optional(),
  content: z.string().optional(),
  downloadLocation: z.string().optional(),
  mediaType: z.string().optional(),
  annotations: z.record(z.string(), z.unknown()).optional(),
});
export type ResourceDescriptor = z.infer<typeof ResourceDescriptorSchema>;

/** A subject airlock can check: named, with a sha256 (other algorithms may be present). */
export const SubjectSchema = z.looseObject({
  name: z.string().min(1),
  digest: z.looseObject({ sha256: Sha256HexSchema }),
});
export type Subject = z.infer<typeof SubjectSchema>;

/**
 * The statement as a shape only: `_type` and `predicateType` are any string here so
 * that verify can tell "not a statement" from "a statement of another type".
 */
export const StatementShapeSchema = z.looseObject({
  _type: z.string(),
  subject: z.array(SubjectSchema).min(1),
  predicateType: z.string(),
  predicate: z.record(z.string(), z.unknown()),
});

// ---------------------------------------------------------------- airlock's facts

export const PolicyFactsSchema = z.looseObject({
  /** policy fields the spec relaxed for this environment (e.g. "readOnlyRootfs") */
  loosened: z.array(z.string()),
});

export const ImageFactsSchema = z.looseObject({
  name: z.string().min(1),
  /** the engine's image id (not stable across engines; the rootfs digest is) */
  imageId: z.string(),
  /** normalized rootfs digest: the environment's identity */
  rootfsDigest: DigestSchema,
});
export type ImageFacts = z.infer<typeof ImageFactsSchema>;

export const VerdictSchema = z.enum(['passed', 'failed', 'error', 'skipped']);
export type Verdict = z.infer<typeof VerdictSchema>;

export const ExternalParametersSchema = z.looseObject({
  spec: z.looseObject({ name: z.string().min(1), digest: DigestSchema }),
  /** names of the environments the run covered */
  environments: z.array(z.string().min(1)),
  /** the policy the spec asked for, by environment name */
  policy: z.record(z.string(), PolicyFactsSchema),
});

export const InternalParametersSchema = z.looseObject({
  images: z.array(ImageFactsSchema),
});

// ---------------------------------------------------------------- SLSA Provenance v1

export const ProvenancePredicateSchema = z.looseObject({
  buildDefinition: z.looseObject({
    buildType: z.literal(BUILD_TYPE),
    externalParameters: ExternalParametersSchema,
    internalParameters: InternalParametersSchema,
    resolvedDependencies: z.array(ResourceDescriptorSchema),
  }),
  runDetails: z.looseObject({
    builder: z.looseObject({ id: z.string().min(1), version: z.record(z.string(), z.string()) }),
    metadata: z.looseObject({
      invocationId: z.string().min(1),
      startedOn: z.iso.datetime(),
      finishedOn: z.iso.datetime(),
    }),
    byproducts: z.array(ResourceDescriptorSchema),
  }),
});
export type ProvenancePredicate = z.infer<typeof ProvenancePredicateSchema>;

export const StatementSchema = z.looseObject({
  _type: z.literal(STATEMENT_TYPE),
  subject: z.array(SubjectSchema).min(1),
  predicateType: z.literal(PREDICATE_TYPE),
  predicate: ProvenancePredicateSchema,
});
export type Statement = z.infer<typeof StatementSchema>;

// ---------------------------------------------------------------- building

/** Structural, so the spec's own Policy type fits as it is. */
export interface PolicyFacts {
  loosened: string[];
}

export interface EnvironmentFacts {
  name: string;
  /** the spec's image the environment runs in */
  image: string;
  /** the image variants (names in `images`) its cells ran in: one, or one per build-args matrix value */
  variants: string[];
  /** the resolved policy the spec asked for (any JSON object); `loosened` lists what it relaxed */
  policy: PolicyFacts;
  verdict: Verdict;
  /** anything else worth keeping about the environment (cell counts, isolation) */
  annotations?: Record<string, unknown>;
}

/** What the orchestrator knows about a run, turned into the predicate by {@link buildPredicate}. */
export interface PredicateFacts {
  spec: { name: string; digest: Digest };
  environments: EnvironmentFacts[];
  images: ImageFacts[];
  builder: { id: string; version: Record<string, string> };
  /** pinned inputs (locks/) and base images, as ResourceDescriptors */
  resolvedDependencies?: ResourceDescriptor[];
  /** more platform-set parameters (engine version, runtime); must not use the key `images` */
  internalParameters?: Record<string, unknown>;
  /** more byproducts (logs, reports) */
  byproducts?: ResourceDescriptor[];
}

export interface RunMetadata {
  invocationId: string;
  startedOn: Date | string;
  finishedOn: Date | string;
}

export function buildPredicate(facts: PredicateFacts, run: RunMetadata): ProvenancePredicate {
  const images = new Map(facts.images.map((i) => [i.name, i]));
  // an environment is identified by its image's rootfs; with several variants each is named in the annotations
  const environmentByproducts: ResourceDescriptor[] = facts.environments.map((env) => {
    const ran = env.variants.flatMap((v) => images.get(v) ?? []);
    const only = ran.length === 1 ? ran[0] : undefined;
    return {
      name: `environment/${env.name}`,
      ...(only ? { digest: { sha256: digestHex(only.rootfsDigest) } } : { uri: `airlock:environment/${env.name}` }),
      annotations: {
        ...env.annotations,
        [`${ANNOTATION_PREFIX}verdict`]: env.verdict,
        [`${ANNOTATION_PREFIX}image`]: env.image,
        [`${ANNOTATION_PREFIX}images`]: ran.map((i) => ({ variant: i.name, rootfsDigest: i.rootfsDigest })),
      },
    };
  });
  // every image the cells ran in is an input of their run, by its normalized rootfs digest (the engine's id is local)
  const imageDependencies: ResourceDescriptor[] = facts.images.map((i) => ({
    name: `image/${i.name}`,
    digest: { sha256: digestHex(i.rootfsDigest) },
    annotations: { [`${ANNOTATION_PREFIX}imageId`]: i.imageId },
  }));
  return {
    buildDefinition: {
      buildType: BUILD_TYPE,
      externalParameters: {
        spec: { name: facts.spec.name, digest: facts.spec.digest },
        environments: facts.environments.map((e) => e.name),
        policy: Object.fromEntries(facts.environments.map((e) => [e.name, { ...e.policy }])),
      },
      internalParameters: { ...facts.internalParameters, images: facts.images },
      resolvedDependencies: [...imageDependencies, ...(facts.resolvedDependencies ?? [])],
    },
    runDetails: {
      builder: facts.builder,
      metadata: {
        invocationId: run.invocationId,
        startedOn: iso(run.startedOn),
        finishedOn: iso(run.finishedOn),
      },
      byproducts: [...environmentByproducts, ...(facts.byproducts ?? [])],
    },
  };
}

export function buildStatement(subjects: { name: string; digest: Digest }[], predicate: ProvenancePredicate): Statement {
  return {
    _type: STATEMENT_TYPE,
    subject: subjects.map((s) => ({ name: s.name, digest: { sha256: digestHex(s.digest) } })),
    predicateType: PREDICATE_TYPE,
    predicate,
  };
}

function iso(t: Date | string): string {
  return (typeof t === 'string' ? new Date(t) : t).toISOString();
}
