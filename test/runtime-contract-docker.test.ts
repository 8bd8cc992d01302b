// The core Runtime contract (the one the in-memory runtime passes too) on the real Docker engine.
import { DockerRuntime } from '../src/runtime/docker/docker-runtime.js';
import { describeRuntimeContract } from '../src/runtime/runtime-contract.testkit.js';
import { cleanupByLabel, TEST_IMAGE, testDocker, uniqueControllerId } from './support/engine.js';
import { noEngine } from './support/provided.js';

describeRuntimeContract(
  'docker',
  async () => {
    const controllerId = uniqueControllerId();
    const docker = testDocker();
    const runtime = new DockerRuntime({ docker });
    await runtime.ensureImage(TEST_IMAGE, 'Never');
    return {
      runtime,
      controllerId,
      image: TEST_IMAGE,
      cleanup: async () => {
        await cleanupByLabel(controllerId, docker);
        await cleanupByLabel(`${controllerId}-other`, docker);
      },
    };
  },
  { skip: noEngine() },
);
