import { AirlockError } from '../errors.js';

/** Version of an installed Debian package, or undefined when it is not installed. */
export async function debianPackageVersion(name: string): Promise<string | undefined> {
  const { execa } = await import('execa');
  const r = await execa('dpkg-query', ['-W', '-f', '${Status}\t${Version}', name], { reject: false });
  if (r.exitCode !== 0) return undefined;
  const [status, version] = r.stdout.split('\t');
  return status?.endsWith(' installed') ? version : undefined;
}

/** Fails with the package to install when a host tool the base images need is missing. */
export async function requirePackage(name: string, why: string): Promise<string> {
  const version = await debianPackageVersion(name);
  if (version === undefined) {
    throw new AirlockError('BASE_BUILD_FAILED', `Debian package ${name} is needed ${why}; install it (apt-get install -y ${name}) or run \`make setup\``, {
      details: { package: name },
    });
  }
  return version;
}
