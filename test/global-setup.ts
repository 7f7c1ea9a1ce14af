import { execa } from 'execa';

/**
 * Integration tests run the real engine: make sure it answers, the base images
 * exist and dist/ is current (the same idempotent setup `make ci` runs; fast
 * when everything is already there).
 */
export default async function setup(): Promise<void> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  await execa('bash', ['scripts/setup.sh'], { stdio: 'inherit', env: { AIRLOCK_SETUP_QUIET: '1' } });
}
