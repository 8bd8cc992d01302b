import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { ContainerTemplateSchema } from '../../spec/schema.js';
import { effectiveTemplate } from '../../spec/policy.js';
import { LABEL } from '../types.js';
import { KubernetesRuntime } from './kubernetes-runtime.js';

// Refused before any call: the cluster here does not exist.
function runtime(allowForeignVolumes?: boolean): KubernetesRuntime {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({ clusters: [{ name: 'c', server: 'http://127.0.0.1:9' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return new KubernetesRuntime({ kubeConfig, timeouts: { create: 500 }, ...(allowForeignVolumes === undefined ? {} : { allowForeignVolumes }) });
}

const request = {
  name: 'berth-default-web',
  template: effectiveTemplate(ContainerTemplateSchema.parse({ image: 'x', mounts: [{ type: 'tmpfs', target: '/tmp' }, { type: 'volume', source: 'tenant-b-data', target: '/data' }] })),
  labels: { [LABEL.managedBy]: 'berth', [LABEL.kind]: 'Instance', [LABEL.namespace]: 'default', [LABEL.name]: 'web' },
};

describe('Pod runtime: named volumes (PersistentVolumeClaims) berth did not create', () => {
  it('are refused at the field unless the controller allows them', async () => {
    await expect(runtime().launch(request)).rejects.toThrow(/^spec\.mounts\[1\]\.source: PersistentVolumeClaim "tenant-b-data" was not created by berth .*--allow-foreign-volumes/);
    // Allowed: it goes on to the (absent) cluster, and fails there instead.
    await expect(runtime(true).launch(request)).rejects.not.toThrow(/PersistentVolumeClaim/);
  });
});
