import { z } from 'zod';

/** `sha256:<64 lowercase hex>`, typed as the Digest of src/util/digest.ts. */
export const DigestSchema = z.templateLiteral(['sha256:', z.string().regex(/^[0-9a-f]{64}$/)]);

/** The bare hex form in-toto uses in `digest: { sha256 }`. */
export const Sha256HexSchema = z.string().regex(/^[0-9a-f]{64}$/);
