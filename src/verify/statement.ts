import { BUNDLE_FILES } from '../proof/manifest.js';
import {
  PAYLOAD_TYPE,
  PREDICATE_TYPE,
  ProvenancePredicateSchema,
  STATEMENT_TYPE,
  type Statement,
  StatementShapeSchema,
} from '../proof/statement.js';
import { verifyError } from './fail.js';
import type { SignedPayload } from './signature.js';

const WHERE = `${BUNDLE_FILES.envelope} payload`;

/**
 * The signed payload is an in-toto Statement v1 with a SLSA Provenance v1
 * predicate of airlock's build type, and statement.json holds the same bytes.
 */
export function checkStatement(signed: SignedPayload, statementFile: Buffer): Statement {
  if (signed.payloadType !== PAYLOAD_TYPE) {
    throw wrongType('STATEMENT_TYPE', 'payloadType', PAYLOAD_TYPE, signed.payloadType, BUNDLE_FILES.envelope);
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(signed.payload));
  } catch {
    throw verifyError('STATEMENT_MALFORMED', 'the payload is not UTF-8 JSON', 'statement', WHERE);
  }
  const shape = StatementShapeSchema.safeParse(value);
  if (!shape.success) throw malformed('not an in-toto statement', shape.error.issues);
  if (shape.data._type !== STATEMENT_TYPE) {
    throw wrongType('STATEMENT_TYPE', '_type', STATEMENT_TYPE, shape.data._type);
  }
  if (shape.data.predicateType !== PREDICATE_TYPE) {
    throw wrongType('PREDICATE_TYPE', 'predicateType', PREDICATE_TYPE, shape.data.predicateType);
  }
  const predicate = ProvenancePredicateSchema.safeParse(shape.data.predicate);
  if (!predicate.success) {
    throw malformed('the predicate is not airlock provenance', predicate.error.issues, 'predicate');
  }
  const names = shape.data.subject.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw verifyError('STATEMENT_MALFORMED', `two subjects are named ${dup}`, 'subject', WHERE);
  if (!statementFile.equals(signed.payload)) {
    const where = BUNDLE_FILES.statement;
    throw verifyError('STATEMENT_MALFORMED', `${where} differs from the signed payload`, 'statement', where);
  }
  return { ...shape.data, _type: STATEMENT_TYPE, predicateType: PREDICATE_TYPE, predicate: predicate.data };
}

function wrongType(code: 'STATEMENT_TYPE' | 'PREDICATE_TYPE', field: string, expected: string, actual: string, where = WHERE) {
  return verifyError(code, `${field} is ${actual}, not ${expected}`, field, where, { expected, actual });
}

function malformed(reason: string, issues: readonly { path: PropertyKey[]; message: string }[], prefix?: string) {
  const fields = issues.map((i) => {
    const path = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    return `${path || '(statement)'}: ${i.message}`;
  });
  return verifyError('STATEMENT_MALFORMED', `${reason}: ${fields.join('; ')}`, 'statement', WHERE, { fields });
}
