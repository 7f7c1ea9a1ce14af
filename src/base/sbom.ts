import type { BaseLockEntry } from './lock.js';
import { AIRLOCK_VERSION } from '../version.js';

/**
 * The SPDX 2.3 JSON document of a base, derived from its lock entry alone (so the same lock
 * always gives the same bytes): the image as the described package, every .deb it was built
 * from CONTAINED in it with its version, purl (`pkg:deb/debian/…`) and the .deb's sha256.
 */
export function baseSbom(ref: string, entry: BaseLockEntry): Record<string, unknown> {
  const rootfsHex = entry.rootfsDigest.slice('sha256:'.length);
  const image = 'SPDXRef-Image';
  const packages = entry.packages.map((p, i) => ({
    SPDXID: `SPDXRef-Package-${i + 1}-${p.name.replace(/[^A-Za-z0-9.-]/g, '-')}`,
    name: p.name,
    versionInfo: p.version,
    supplier: 'Organization: Debian',
    downloadLocation: p.url,
    filesAnalyzed: false,
    checksums: [{ algorithm: 'SHA256', checksumValue: p.sha256 }],
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    externalRefs: [{ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: debPurl(p.name, p.version, p.architecture, entry.suite) }],
  }));
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: `airlock base ${ref}`,
    documentNamespace: `https://airlock.invalid/spdx/base/${encodeURIComponent(ref)}/${rootfsHex}`,
    creationInfo: { created: entry.resolvedAt, creators: [`Tool: airlock-${AIRLOCK_VERSION}`] },
    packages: [
      {
        SPDXID: image,
        name: ref,
        downloadLocation: 'NOASSERTION',
        filesAnalyzed: false,
        primaryPackagePurpose: 'CONTAINER',
        checksums: [{ algorithm: 'SHA256', checksumValue: rootfsHex }],
        comment: `checksum: the normalized rootfs digest airlock locks (${entry.rootfsDigest})`,
        licenseConcluded: 'NOASSERTION',
        licenseDeclared: 'NOASSERTION',
        copyrightText: 'NOASSERTION',
      },
      ...packages,
    ],
    relationships: [
      { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: image },
      ...packages.map((p) => ({ spdxElementId: image, relationshipType: 'CONTAINS', relatedSpdxElement: p.SPDXID })),
    ],
  };
}

/** purl of a Debian binary package (purl-spec's deb type; the version percent-encoded). */
export function debPurl(name: string, version: string, architecture: string, suite: string): string {
  return `pkg:deb/debian/${encodeURIComponent(name)}@${encodeURIComponent(version)}?arch=${encodeURIComponent(architecture)}&distro=${encodeURIComponent(`debian-${suite}`)}`;
}
