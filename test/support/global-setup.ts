// vitest globalSetup of the integration project: the engine must answer, the
// test images are built, and the real Kubernetes cluster of the Kubernetes
// tests (BERTH_TEST_KUBECONFIG) answers with a Ready node. In CI a missing
// engine or cluster fails the run; elsewhere those tests are skipped with a
// loud banner (berthNoEngine / berthNoKube are declared in provided.ts, which
// this file does not import: it loads vitest).
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import { engineAvailable } from './engine.js';
import { kubeAvailable } from './kube-available.js';

const BUILD_SCRIPT = fileURLToPath(new URL('../../scripts/build-test-images.sh', import.meta.url));
const CI = process.env['CI'] === 'true';

function banner(lines: string[]): void {
  const line = '!'.repeat(78);
  process.stderr.write(`\n${line}\n${lines.map((l) => `!!  ${l}`).join('\n')}\n${line}\n\n`);
}

export default async function setup(project: TestProject): Promise<void> {
  if (!(await engineAvailable(5_000))) {
    const where = process.env['DOCKER_HOST'] ?? '/var/run/docker.sock';
    if (CI) {
      throw new Error(`No Docker engine answered at ${where} within 5 s: integration tests cannot run, and in CI they never skip (start one with scripts/ensure-docker.sh)`);
    }
    banner([`NO DOCKER ENGINE answered at ${where}.`, 'ENGINE INTEGRATION TESTS ARE SKIPPED. Start one: bash scripts/ensure-docker.sh', '(with CI=true this is a failure, not a skip)']);
    process.env['BERTH_NO_ENGINE'] = '1';
    project.provide('berthNoEngine', true);
  } else {
    execFileSync('bash', [BUILD_SCRIPT], { stdio: 'inherit', timeout: 10 * 60_000 });
    project.provide('berthNoEngine', false);
  }

  const kube = await kubeAvailable();
  if (!kube.ok) {
    if (CI) throw new Error(`No Kubernetes cluster for the Kubernetes tests: ${kube.why}. In CI they never skip: .ci/run starts one with scripts/ensure-kube.sh`);
    banner([`NO KUBERNETES CLUSTER: ${kube.why}.`, 'KUBERNETES INTEGRATION TESTS ARE SKIPPED. Start the kit and point the tests at it:', '  eval "$(bash scripts/ensure-kube.sh)"   # sets BERTH_TEST_KUBECONFIG', '(with CI=true this is a failure, not a skip)']);
    process.env['BERTH_NO_KUBE'] = '1';
    project.provide('berthNoKube', true);
    return;
  }
  process.stderr.write(`[global-setup] Kubernetes ${kube.version} at ${process.env['BERTH_TEST_KUBECONFIG']}, ${kube.nodes} Ready node(s)\n`);
  project.provide('berthNoKube', false);
}
