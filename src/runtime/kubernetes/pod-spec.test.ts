import { describe, expect, it } from 'vitest';
import { ContainerTemplateSchema } from '../../spec/schema.js';
import { effectiveTemplate } from '../../spec/policy.js';
import { isRuntimeError } from '../errors.js';
import type { CreateRequest } from '../types.js';
import { cpuQuantity, escapeExpansion, isLabelValue, isQualifiedName, parseUser, podFor, podMetadata, podNameFor, recreateBody } from './pod-spec.js';

const BERTH_LABELS = {
  'berth.dev/managed-by': 'ctl-1',
  'berth.dev/kind': 'Instance',
  'berth.dev/namespace': 'team-a',
  'berth.dev/name': 'web',
  'berth.dev/config-hash': 'v1-0123456789abcdef0123456789abcdef',
  'berth.dev/hash-version': 'v1',
  'berth.dev/created-at': '1767323045000',
  'berth.dev/config-fields': 'command=ab12,env=cd34,image=ef56',
};

function request(template: unknown, labels: Record<string, string> = BERTH_LABELS, name = 'berth-team-a-web'): CreateRequest {
  return { name, template: effectiveTemplate(ContainerTemplateSchema.parse(template)), labels };
}

const OWNER = { apiVersion: 'berth.dev/v1alpha1', kind: 'Instance', name: 'web', uid: 'uid-1', controller: true, blockOwnerDeletion: true };

describe('podFor', () => {
  it('maps a minimal template to a hardened, bounded Pod with labels, annotations and its owner', () => {
    expect(podFor(request({ image: 'python:3.12' }), { ownerReference: () => OWNER })).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'berth-team-a-web',
        namespace: 'team-a',
        labels: {
          'berth.dev/managed-by': 'ctl-1',
          'berth.dev/kind': 'Instance',
          'berth.dev/namespace': 'team-a',
          'berth.dev/name': 'web',
          'berth.dev/config-hash': 'v1-0123456789abcdef0123456789abcdef',
          'berth.dev/hash-version': 'v1',
        },
        annotations: {
          'berth.dev/created-at': '1767323045000',
          'berth.dev/config-fields': 'command=ab12,env=cd34,image=ef56',
        },
        ownerReferences: [OWNER],
      },
      spec: {
        containers: [
          {
            name: 'main',
            image: 'python:3.12',
            imagePullPolicy: 'IfNotPresent',
            env: [],
            ports: [],
            resources: { limits: { cpu: '1000m', memory: '1073741824' }, requests: { cpu: '100m', memory: '67108864' } },
            securityContext: {
              capabilities: { drop: ['ALL'] },
              readOnlyRootFilesystem: false,
              privileged: false,
              allowPrivilegeEscalation: false,
              seccompProfile: { type: 'RuntimeDefault' },
              // No user in the template: nobody, so PodSecurity `restricted` admits it.
              runAsUser: 65534,
              runAsGroup: 65534,
              runAsNonRoot: true,
            },
            volumeMounts: [],
            stdin: false,
            tty: false,
          },
        ],
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 10,
        automountServiceAccountToken: false,
        enableServiceLinks: false,
      },
    });
  });

  it('maps command, args, env, ports, user, resources, security and mounts', () => {
    const pod = podFor(
      request({
        image: 'app:1',
        imagePullPolicy: 'Always',
        command: ['sh', '-c'],
        args: ['echo $HOME $(date) $$'],
        workingDir: '/srv',
        env: [{ name: 'GREETING', value: 'a$(B)c' }],
        user: '1000:2000',
        ports: [{ containerPort: 8080 }, { containerPort: 53, protocol: 'UDP', hostPort: 5353 }],
        resources: { cpus: '1.5', memory: '512Mi' },
        security: { capDrop: ['ALL'], capAdd: ['cap_net_bind_service'], readOnlyRootFilesystem: true, noNewPrivileges: true },
        mounts: [
          { type: 'tmpfs', target: '/tmp' },
          { type: 'volume', source: 'data', target: '/data', readOnly: true },
          { type: 'bind', source: '/srv/cache', target: '/cache' },
        ],
        stopGracePeriodSeconds: 3,
        network: 'none',
      }),
    );
    const c = pod.spec!.containers[0]!;
    // Every $ doubled: Kubernetes turns $$ back into $ and never expands $(VAR).
    expect(c.command).toEqual(['sh', '-c']);
    expect(c.args).toEqual(['echo $$HOME $$(date) $$$$']);
    expect(c.env).toEqual([{ name: 'GREETING', value: 'a$$(B)c' }]);
    expect(c.workingDir).toBe('/srv');
    expect(c.imagePullPolicy).toBe('Always');
    expect(c.ports).toEqual([
      { containerPort: 8080, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP', hostPort: 5353, hostIP: '127.0.0.1' },
    ]);
    expect(c.resources).toEqual({ limits: { cpu: '1500m', memory: '536870912' }, requests: { cpu: '100m', memory: '67108864' } });
    expect(c.securityContext).toEqual({
      capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
      readOnlyRootFilesystem: true,
      privileged: false,
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
      runAsUser: 1000,
      runAsGroup: 2000,
      runAsNonRoot: true,
    });
    expect(c.volumeMounts).toEqual([
      { name: 'vol-0', mountPath: '/tmp' },
      { name: 'vol-1', mountPath: '/data', readOnly: true },
      { name: 'vol-2', mountPath: '/cache' },
    ]);
    expect(pod.spec!.volumes).toEqual([
      { name: 'vol-0', emptyDir: { medium: 'Memory' } },
      { name: 'vol-1', persistentVolumeClaim: { claimName: 'data', readOnly: true } },
      { name: 'vol-2', hostPath: { path: '/srv/cache' } },
    ]);
    expect(pod.spec!.terminationGracePeriodSeconds).toBe(3);
    expect(pod.spec!.hostNetwork).toBeUndefined();
    // network none cannot be expressed per Pod: a label a NetworkPolicy selects.
    expect(pod.metadata!.labels!['berth.dev/network']).toBe('none');
  });

  it('uses the host network for network host, and leaves privilege escalation to privileged containers', () => {
    const pod = podFor(request({ image: 'app:1', network: 'host', security: { privileged: true } }));
    expect(pod.spec!.hostNetwork).toBe(true);
    expect(pod.metadata!.labels!['berth.dev/network']).toBeUndefined();
    const sc = pod.spec!.containers[0]!.securityContext!;
    expect(sc.privileged).toBe(true);
    expect(sc.allowPrivilegeEscalation).toBeUndefined();
    expect(sc.seccompProfile).toBeUndefined();
  });

  it('sets runAsUser 0 without runAsNonRoot, and refuses a user name', () => {
    const root = podFor(request({ image: 'app:1', user: '0' })).spec!.containers[0]!.securityContext!;
    expect(root.runAsUser).toBe(0);
    expect(root.runAsNonRoot).toBeUndefined();
    const err = (() => {
      try {
        podFor(request({ image: 'app:1', user: 'nobody' }));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isRuntimeError(err, 'Invalid')).toBe(true);
    expect((err as Error).message).toContain('numeric');
  });

  it('puts Pods in the runtime namespace when one is set, without an owner reference across namespaces', () => {
    const pod = podFor(request({ image: 'app:1' }), { namespace: 'berth-pods', ownerReference: () => OWNER });
    expect(pod.metadata!.namespace).toBe('berth-pods');
    expect(pod.metadata!.labels!['berth.dev/namespace']).toBe('team-a');
    expect(pod.metadata!.ownerReferences).toBeUndefined();
  });

  it('records the berth name when the Pod name had to change', () => {
    const long = `berth-${'n'.repeat(63)}-${'x'.repeat(40)}-m1`;
    const pod = podFor(request({ image: 'app:1' }, BERTH_LABELS, long));
    expect(pod.metadata!.name!.length).toBeLessThanOrEqual(63);
    expect(pod.metadata!.annotations!['berth.dev/container-name']).toBe(long);
  });
});

describe('podMetadata', () => {
  it('keeps template labels, drops reserved ones, and refuses what Kubernetes would refuse', () => {
    const ok = podMetadata(request({ image: 'a:1', labels: { team: 'infra', 'example.com/tier': 'web' } }));
    expect(ok.labels).toMatchObject({ team: 'infra', 'example.com/tier': 'web' });
    const badValue = (() => {
      try {
        podMetadata(request({ image: 'a:1', labels: { team: 'Infra Team' } }));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(isRuntimeError(badValue, 'Invalid')).toBe(true);
    expect(badValue?.message).toContain('team=');
  });

  it('moves a berth label with an invalid value to the annotations, except those list() selects on', () => {
    const moved = podMetadata(request({ image: 'a:1' }, { ...BERTH_LABELS, 'berth.dev/member': 'Not A Label!' }));
    expect(moved.labels['berth.dev/member']).toBeUndefined();
    expect(moved.annotations['berth.dev/member']).toBe('Not A Label!');
    expect(() => podMetadata(request({ image: 'a:1' }, { ...BERTH_LABELS, 'berth.dev/managed-by': 'a b' }))).toThrow(/list\(\) selects on it/);
  });
});

describe('helpers', () => {
  it('podNameFor keeps valid names and makes others valid, unique and short', () => {
    expect(podNameFor('berth-default-web')).toBe('berth-default-web');
    expect(podNameFor('Berth_Default_Web')).toMatch(/^berth-default-web-[0-9a-f]{8}$/);
    const long = podNameFor('b'.repeat(100));
    expect(long.length).toBe(63);
    expect(long).not.toBe(podNameFor(`${'b'.repeat(100)}c`));
    expect(podNameFor('--')).toMatch(/^berth-[0-9a-f]{8}$/);
  });

  it('escapeExpansion doubles every $', () => {
    expect(escapeExpansion('$(A) $$ $B')).toBe('$$(A) $$$$ $$B');
  });

  it('cpuQuantity rounds up to whole millicores', () => {
    expect(cpuQuantity(1_000_000_000)).toBe('1000m');
    expect(cpuQuantity(1_500_000)).toBe('2m');
    expect(cpuQuantity(1)).toBe('1m');
  });

  it('parseUser reads uid and uid:gid', () => {
    expect(parseUser('1000')).toEqual({ uid: 1000 });
    expect(parseUser('1000:0')).toEqual({ uid: 1000, gid: 0 });
  });

  it('label syntax', () => {
    expect(isLabelValue('v1-0123456789abcdef0123456789abcdef')).toBe(true);
    expect(isLabelValue('command=ab12,env=cd34')).toBe(false);
    expect(isLabelValue('x'.repeat(64))).toBe(false);
    expect(isQualifiedName('berth.dev/managed-by')).toBe(true);
    expect(isQualifiedName('Bad Key')).toBe(false);
  });
});

describe('recreateBody', () => {
  it('keeps what berth set and drops what the API server and webhooks added', () => {
    const created = podFor(request({ image: 'app:1', mounts: [{ type: 'tmpfs', target: '/tmp' }] }), { ownerReference: () => OWNER });
    const served = structuredClone(created);
    Object.assign(served.metadata!, { uid: 'u-1', resourceVersion: '42', creationTimestamp: new Date(), annotations: { ...served.metadata!.annotations, 'sidecar.example.com/status': 'injected', 'berth.dev/container-name': 'x' } });
    Object.assign(served.spec!, { nodeName: 'node-1', activeDeadlineSeconds: 1, priority: 0, preemptionPolicy: 'PreemptLowerPriority', serviceAccountName: 'default', dnsPolicy: 'ClusterFirst' });
    served.spec!.containers.push({ name: 'sidecar', image: 'proxy:1' });
    served.spec!.volumes!.push({ name: 'kube-api-access-abcde', emptyDir: {} });
    served.spec!.containers[0]!.volumeMounts!.push({ name: 'kube-api-access-abcde', mountPath: '/var/run/secrets' });
    served.spec!.containers[0]!.terminationMessagePath = '/dev/termination-log';
    served.status = { phase: 'Failed' };
    const again = recreateBody(served);
    expect(again).toEqual({
      ...created,
      metadata: { ...created.metadata, annotations: { ...created.metadata!.annotations, 'berth.dev/container-name': 'x' } },
    });
  });
});
