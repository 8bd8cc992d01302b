import { describe, expect, it } from 'vitest';
import { ContainerTemplateSchema } from '../../spec/schema.js';
import { effectiveTemplate } from '../../spec/policy.js';
import { containerLabels, createOptions } from './create-options.js';
import type { CreateRequest } from '../types.js';

const BERTH_LABELS = {
  'berth.dev/managed-by': 'ctl-1',
  'berth.dev/kind': 'Instance',
  'berth.dev/namespace': 'default',
  'berth.dev/name': 'web',
};

function request(template: unknown, labels: Record<string, string> = BERTH_LABELS): CreateRequest {
  return { name: 'berth-default-web', template: effectiveTemplate(ContainerTemplateSchema.parse(template)), labels };
}

describe('createOptions', () => {
  it('maps a minimal template to a hardened, bounded container', () => {
    expect(createOptions(request({ image: 'python:3.12' }))).toEqual({
      name: 'berth-default-web',
      Image: 'python:3.12',
      Env: [],
      Labels: BERTH_LABELS,
      ExposedPorts: {},
      StopTimeout: 10,
      AttachStdin: false,
      AttachStdout: false,
      AttachStderr: false,
      Tty: false,
      OpenStdin: false,
      HostConfig: {
        NetworkMode: 'bridge',
        PortBindings: {},
        Mounts: [],
        NanoCpus: 1_000_000_000,
        Memory: 1024 ** 3,
        MemorySwap: 1024 ** 3,
        PidsLimit: 512,
        CapDrop: ['ALL'],
        CapAdd: [],
        SecurityOpt: ['no-new-privileges:true'],
        ReadonlyRootfs: false,
        Privileged: false,
        RestartPolicy: { Name: 'no' },
        Init: false,
      },
    });
  });

  it('maps every field of a full template', () => {
    const opts = createOptions(
      request({
        image: 'app:1',
        command: ['/bin/app'],
        args: ['--port', '80'],
        workingDir: '/srv',
        env: [{ name: 'A', value: '1' }, { name: 'EMPTY' }],
        user: '1000:1000',
        ports: [
          { containerPort: 80 },
          { containerPort: 80, hostPort: 8080, hostIP: '0.0.0.0' },
          { containerPort: 53, protocol: 'UDP', hostPort: 5353 },
        ],
        network: 'none',
        mounts: [
          { type: 'volume', source: 'data', target: '/data' },
          { type: 'tmpfs', target: '/tmp' },
          { type: 'bind', source: '/etc/app', target: '/etc/app', readOnly: true },
        ],
        resources: { cpus: '1.5', memory: '512Mi', pids: 64 },
        security: { capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'], noNewPrivileges: false, readOnlyRootFilesystem: true, privileged: true },
        stopGracePeriodSeconds: 30,
      }),
    );
    expect(opts).toMatchObject({
      Image: 'app:1',
      Entrypoint: ['/bin/app'],
      Cmd: ['--port', '80'],
      WorkingDir: '/srv',
      Env: ['A=1', 'EMPTY='],
      User: '1000:1000',
      StopTimeout: 30,
      ExposedPorts: { '80/tcp': {}, '53/udp': {} },
      HostConfig: {
        NetworkMode: 'none',
        PortBindings: {
          '80/tcp': [
            { HostIp: '127.0.0.1', HostPort: '' },
            { HostIp: '0.0.0.0', HostPort: '8080' },
          ],
          '53/udp': [{ HostIp: '127.0.0.1', HostPort: '5353' }],
        },
        Mounts: [
          { Type: 'volume', Source: 'data', Target: '/data', ReadOnly: false },
          { Type: 'tmpfs', Source: '', Target: '/tmp', ReadOnly: false },
          { Type: 'bind', Source: '/etc/app', Target: '/etc/app', ReadOnly: true },
        ],
        NanoCpus: 1_500_000_000,
        Memory: 512 * 1024 ** 2,
        MemorySwap: 512 * 1024 ** 2,
        PidsLimit: 64,
        CapDrop: ['ALL'],
        CapAdd: ['NET_BIND_SERVICE'],
        SecurityOpt: [],
        ReadonlyRootfs: true,
        Privileged: true,
      },
    });
  });

  it('leaves the image entrypoint and cmd alone when neither command nor args is given', () => {
    const opts = createOptions(request({ image: 'app:1' }));
    expect(opts).not.toHaveProperty('Entrypoint');
    expect(opts).not.toHaveProperty('Cmd');
    expect(opts).not.toHaveProperty('WorkingDir');
    expect(opts).not.toHaveProperty('User');
  });

  it('args alone replace only the image cmd', () => {
    const opts = createOptions(request({ image: 'app:1', args: ['sleep', '5'] }));
    expect(opts.Cmd).toEqual(['sleep', '5']);
    expect(opts).not.toHaveProperty('Entrypoint');
  });

  it('command alone replaces the entrypoint and sends no cmd (the engine then ignores the image cmd)', () => {
    const opts = createOptions(request({ image: 'app:1', command: ['sh', '-c', 'echo hi'] }));
    expect(opts.Entrypoint).toEqual(['sh', '-c', 'echo hi']);
    expect(opts).not.toHaveProperty('Cmd');
  });
});

describe('containerLabels', () => {
  it('merges template labels under berth labels, which win, and drops reserved keys of the template', () => {
    // The schema refuses berth.dev/ keys; the mapping still drops them (defence in depth).
    const req = request({ image: 'app:1' });
    req.template.labels = { team: 'a', 'berth.dev/managed-by': 'spoof', 'berth.dev/member': 'spoof', 'app.kubernetes.io/name': 'web' };
    expect(containerLabels(req)).toEqual({ team: 'a', 'app.kubernetes.io/name': 'web', ...BERTH_LABELS });
  });
});
