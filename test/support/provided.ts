// Values global-setup.ts provides to test files (vitest's provide/inject).
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** True when no Docker engine answered and CI is not set: engine tests skip. */
    berthNoEngine: boolean;
    /** True when no Kubernetes cluster (BERTH_TEST_KUBECONFIG) answered and CI is not set: Kubernetes tests skip. */
    berthNoKube: boolean;
  }
}

/** For describe.skipIf: no engine here (only ever true outside CI). */
export const noEngine = (): boolean => inject('berthNoEngine') === true || process.env['BERTH_NO_ENGINE'] === '1';

/** For describe.skipIf: no Kubernetes cluster here (only ever true outside CI). */
export const noKube = (): boolean => inject('berthNoKube') === true || process.env['BERTH_NO_KUBE'] === '1';
