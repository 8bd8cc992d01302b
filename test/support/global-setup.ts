// vitest globalSetup of the integration project: the engine must answer, and
// the test images are built. In CI a missing engine fails the run; elsewhere
// the engine tests are skipped with a loud banner (the berthNoEngine type is
// declared in provided.ts, which this file does not import: it loads vitest).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { engineAvailable } from './engine.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-test-images.sh', import.meta.url));

export default async function setup(project: TestProject): Promise<void> {
  if (!(await engineAvailable(5_000))) {
    const where = process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
    if (process.env['CI'] === 'true') {
      throw new Error(`No Docker engine answered at ${where} within 5 s: integration tests cannot run, and in CI they never skip (start one with scripts/ensure-docker.sh)`);
    }
    const line = '!'.repeat(78);
    process.stderr.write(
      `\n${line}\n!!  NO DOCKER ENGINE answered at ${where}.\n!!  ENGINE INTEGRATION TESTS ARE SKIPPED. Start one: bash scripts/ensure-docker.sh\n!!  (with CI=true this is a failure, not a skip)\n${line}\n\n`,
    );
    process.env['BERTH_NO_ENGINE'] = '1';
    project.provide('berthNoEngine', true);
    return;
  }
  execFileSync('bash', [BUILD_SCRIPT], { stdio: 'inherit', timeout: 10 * 60_000 });
  project.provide('berthNoEngine', false);
}
