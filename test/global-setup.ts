import { execa } from 'execa';

/**
 * Integration tests run the real engine: make sure it answers, the base images
 * exist and dist/ is current (the same idempotent setup `make ci` runs; fast
 * when everything is already there).
 */
export default async function setup(): Promise<void> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  // the suite's own runs fail on purpose: run under GitHub Actions, they must not annotate the job or write its summary
  delete process.env.GITHUB_ACTIONS;
  delete process.env.GITHUB_STEP_SUMMARY;
  await execa('bash', ['scripts/setup.sh'], { stdio: 'inherit', env: { AIRLOCK_SETUP_QUIET: '1' } });
}
