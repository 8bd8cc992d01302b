// The core Runtime contract (the one the in-memory runtime passes too) on
// Kubernetes Pods. Two behaviours differ by the runtime's documented emulation
// (kubernetes-runtime.ts header): a Pod runs as soon as it is created
// (createStarts), and promote only records berth's name in an annotation, so
// the Pod keeps its name (promoteFreesName false).
import { KubernetesRuntime } from '../src/runtime/kubernetes/kubernetes-runtime.js';
import { describeRuntimeContract } from '../src/runtime/runtime-contract.testkit.js';
import { TEST_IMAGE, uniqueControllerId } from './support/engine.js';
import { deleteNamespaces, freshNamespace, testKubeConfig } from './support/kube-cluster.js';
import { noKube } from './support/provided.js';

describeRuntimeContract(
  'kubernetes',
  async () => {
    const kc = testKubeConfig();
    const namespace = await freshNamespace(kc, 'berth-core-contract');
    return {
      runtime: new KubernetesRuntime({ kubeConfig: kc, namespace }),
      controllerId: uniqueControllerId(),
      image: TEST_IMAGE,
      cleanup: () => deleteNamespaces(kc, [namespace]),
    };
  },
  { skip: noKube(), createStarts: true, promoteFreesName: false },
);
