// manifests/ (kustomize) checked offline: every file parses, the kustomization
// resolves the way kustomize would, RBAC is exactly what berth uses, and the
// Deployment, Service and Dockerfile agree with each other and with the API.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { matchRoute } from '../api/routes.js';
import { GROUP, KIND_NAMES, KINDS } from './schema.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MANIFESTS = join(ROOT, 'manifests');

// A loose view of the Kubernetes objects; the tests assert the shapes they read.
type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> } } & Record<string, any>;

async function parseFile(path: string): Promise<Obj[]> {
  // YAML 1.1, as the apiserver and kubectl read it (0440 is octal, "on" a boolean).
  const docs = parseAllDocuments(await readFile(path, 'utf8'), { version: '1.1' });
  const out: Obj[] = [];
  for (const d of docs) {
    if (Array.isArray(d)) throw new Error(`${path}: not a YAML stream`);
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message).join('; ')}`);
    const value = d.toJS({ maxAliasCount: 0 }) as Obj | null;
    if (value !== null) out.push(value);
  }
  return out;
}

interface Built {
  objects: Obj[];
  files: string[];
}

/**
 * kustomize's resource resolution: each entry is a file in or below the
 * kustomization's directory, or a directory holding a kustomization of its own
 * (the only way to reach outside); the namespace field applies to namespaced
 * objects of that kustomization.
 */
async function build(dir: string): Promise<Built> {
  // kustomize looks for kustomization.yaml, kustomization.yml or Kustomization.
  let kfile: string | undefined;
  for (const name of ['kustomization.yaml', 'kustomization.yml', 'Kustomization']) if (await stat(join(dir, name)).catch(() => undefined)) kfile ??= join(dir, name);
  if (!kfile) throw new Error(`${dir}: no kustomization file`);
  const [k] = await parseFile(kfile);
  if (!k || k.kind !== 'Kustomization') throw new Error(`${kfile} is not a Kustomization`);
  const objects: Obj[] = [];
  const files = [kfile];
  for (const entry of (k['resources'] ?? []) as string[]) {
    const path = resolve(dir, entry);
    const st = await stat(path).catch(() => undefined);
    if (!st) throw new Error(`${dir}: resource ${entry} does not exist`);
    if (st.isDirectory()) {
      const sub = await build(path);
      objects.push(...sub.objects);
      files.push(...sub.files);
    } else {
      if (relative(dir, path).startsWith('..')) throw new Error(`${dir}: ${entry} is outside the kustomization root (kustomize refuses it; use a directory with a kustomization)`);
      objects.push(...(await parseFile(path)));
      files.push(path);
    }
  }
  const ns = k['namespace'] as string | undefined;
  const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
  if (ns) for (const o of objects) if (!CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = ns;
  return { objects, files };
}

const find = (objects: Obj[], kind: string, name?: string): Obj => {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0]!;
};

describe('manifests/', () => {
  it('every YAML file in manifests/ and crds/ parses into objects with apiVersion, kind and a name', async () => {
    for (const dir of ['manifests', 'crds']) {
      const files = (await readdir(join(ROOT, dir))).filter((f) => f.endsWith('.yaml'));
      expect(files.length).toBeGreaterThan(0);
      for (const f of files) {
        const objects = await parseFile(join(ROOT, dir, f));
        expect(objects.length, f).toBeGreaterThan(0);
        for (const o of objects) {
          expect(typeof o.apiVersion, `${f} apiVersion`).toBe('string');
          expect(typeof o.kind, `${f} kind`).toBe('string');
          if (o.kind !== 'Kustomization') expect(typeof o.metadata?.name, `${f} ${o.kind} metadata.name`).toBe('string');
        }
      }
    }
  });

  it('the kustomization resolves, lists every file, and yields the whole install', async () => {
    const { objects, files } = await build(MANIFESTS);
    const listed = new Set(files.map((f) => relative(ROOT, f)));
    for (const f of (await readdir(MANIFESTS)).filter((f) => f.endsWith('.yaml'))) expect(listed, `manifests/${f} is not in the kustomization`).toContain(`manifests/${f}`);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual(
      [
        'Namespace/berth-system',
        'ServiceAccount/berth-controller',
        'ClusterRole/berth-controller',
        'ClusterRoleBinding/berth-controller',
        'Role/berth-leader-election',
        'RoleBinding/berth-leader-election',
        'Deployment/berth-controller',
        'Service/berth-metrics',
        ...KIND_NAMES.map((k) => `CustomResourceDefinition/${KINDS[k].plural}.${GROUP}`),
      ].sort(),
    );
    for (const o of objects) if (o.metadata.namespace !== undefined) expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('berth-system');
  });

  it('RBAC grants exactly what berth uses, with no wildcard', async () => {
    const { objects } = await build(MANIFESTS);
    for (const o of objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role')) {
      for (const rule of o['rules'] as Array<Record<string, string[]>>) {
        for (const field of ['apiGroups', 'resources', 'verbs']) {
          expect(rule[field]?.length, `${o.kind}/${o.metadata.name} ${field}`).toBeGreaterThan(0);
          expect(rule[field]!.some((v) => v.includes('*')), `${o.kind}/${o.metadata.name} ${field}: ${rule[field]!.join(',')}`).toBe(false);
        }
        expect(rule['resourceNames'], 'resourceNames unused').toBeUndefined();
        expect(rule['nonResourceURLs'], 'nonResourceURLs unused').toBeUndefined();
      }
    }
    // One line per (group, resource): the verbs granted on it.
    const grants = (o: Obj): string[] =>
      (o['rules'] as Array<Record<string, string[]>>).flatMap((r) => r['apiGroups']!.flatMap((g) => r['resources']!.map((res) => `${g || 'core'} ${res}: ${[...r['verbs']!].sort().join(',')}`))).sort();
    const plurals = KIND_NAMES.map((k) => KINDS[k].plural);
    expect(grants(find(objects, 'ClusterRole'))).toEqual(
      [
        ...plurals.map((p) => `${GROUP} ${p}: create,delete,get,list,patch,update,watch`),
        ...plurals.map((p) => `${GROUP} ${p}/status: get,patch,update`),
        ...plurals.map((p) => `${GROUP} ${p}/finalizers: update`),
        'core pods: create,delete,get,list,patch,watch',
        'core pods/exec: create,get',
        'core pods/log: get',
        'networking.k8s.io networkpolicies: create,get,update',
        'metrics.k8s.io pods: get',
        'core events: create,patch',
        'events.k8s.io events: create,patch',
      ].sort(),
    );
    const role = find(objects, 'Role');
    expect(role.metadata.namespace).toBe('berth-system');
    expect(grants(role)).toEqual(['coordination.k8s.io leases: create,get,update']);

    const sa = find(objects, 'ServiceAccount');
    for (const [bindingKind, roleKind] of [['ClusterRoleBinding', 'ClusterRole'], ['RoleBinding', 'Role']] as const) {
      const binding = find(objects, bindingKind);
      expect(binding['roleRef']).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: roleKind, name: find(objects, roleKind).metadata.name });
      expect(binding['subjects']).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: sa.metadata.namespace }]);
    }
  });

  it('the Deployment runs berth hardened, with leader election, probes on routes the API serves, and bounded resources', async () => {
    const { objects } = await build(MANIFESTS);
    const deployment = find(objects, 'Deployment');
    const pod = deployment['spec'].template.spec;
    expect(deployment['spec'].replicas).toBe(2);
    expect(deployment['spec'].selector.matchLabels).toEqual(expect.objectContaining(deployment['spec'].template.metadata.labels));
    expect(pod.serviceAccountName).toBe(find(objects, 'ServiceAccount').metadata.name);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.containers).toHaveLength(1);
    const c = pod.containers[0];
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toEqual({ requests: { cpu: '50m', memory: '64Mi' }, limits: { cpu: '500m', memory: '256Mi' } });

    const args = c.args as string[];
    expect(args[0]).toBe('controller');
    expect(args).toContain('--leader-elect');
    const flag = (name: string): string | undefined => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
    const port = Number(flag('listen')?.split(':').pop());
    const portByName = new Map<string, number>((c.ports as Array<{ name: string; containerPort: number }>).map((p) => [p.name, p.containerPort]));
    expect([...portByName.values()]).toEqual([port]);
    const portOf = (p: string | number): number | undefined => (typeof p === 'number' ? p : portByName.get(p));

    expect(matchRoute(c.livenessProbe.httpGet.path)).toEqual({ type: 'healthz' });
    expect(matchRoute(c.readinessProbe.httpGet.path)).toEqual({ type: 'readyz' });
    expect(portOf(c.livenessProbe.httpGet.port)).toBe(port);
    expect(portOf(c.readinessProbe.httpGet.port)).toBe(port);

    // Files berth reads or writes are on volumes (the root filesystem is read-only).
    const mounts = c.volumeMounts as Array<{ name: string; mountPath: string }>;
    const volumeNames = new Set((pod.volumes as Array<{ name: string }>).map((v) => v.name));
    for (const m of mounts) expect(volumeNames, `volume ${m.name}`).toContain(m.name);
    const mountedAt = (path: string): string | undefined => mounts.find((m) => path === m.mountPath || path.startsWith(`${m.mountPath}/`))?.name;
    expect(mountedAt(flag('token-file')!)).toBe('api-token');
    expect(mountedAt(flag('state-dir')!)).toBe('state');
    const tokenVolume = (pod.volumes as Array<Record<string, any>>).find((v) => v['name'] === 'api-token')!;
    expect(join(mounts.find((m) => m.name === 'api-token')!.mountPath, tokenVolume['secret'].items[0].path)).toBe(flag('token-file'));

    const service = find(objects, 'Service');
    for (const [k, v] of Object.entries(service['spec'].selector as Record<string, string>)) expect(deployment['spec'].template.metadata.labels[k]).toBe(v);
    expect(service['spec'].ports.map((p: { targetPort: string | number }) => portOf(p.targetPort))).toEqual([port]);
    expect(matchRoute(service.metadata.annotations!['prometheus.io/path']!)).toEqual({ type: 'metrics' });
    expect(Number(service.metadata.annotations!['prometheus.io/port'])).toBe(port);
  });

  it('the Dockerfile runs as the user the Deployment expects and starts the controller', async () => {
    const dockerfile = await readFile(join(ROOT, 'Dockerfile'), 'utf8');
    const { objects } = await build(MANIFESTS);
    const uid = find(objects, 'Deployment')['spec'].template.spec.securityContext.runAsUser as number;
    const lastStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(lastStage).toMatch(new RegExp(`^USER ${uid}(:${uid})?$`, 'm'));
    // node flags may come before the script (the young generation's cap: idle RSS).
    expect(lastStage).toMatch(/^ENTRYPOINT \["node", (?:"--[\w-]+(?:=\w+)?", )*"bin\/berth\.js"\]$/m);
    expect(lastStage).toMatch(/^CMD \["controller"\]$/m);
    const dockerignore = (await readFile(join(ROOT, '.dockerignore'), 'utf8')).split('\n');
    for (const ignored of ['node_modules', 'dist', '.git']) expect(dockerignore).toContain(ignored);
    // What the image copies exists.
    for (const m of dockerfile.matchAll(/^COPY (?:--from=\S+ )?(?:--chown=\S+ )?(.+) \S+$/gm)) {
      if (/--from=/.test(m[0])) continue;
      for (const src of m[1]!.split(/\s+/)) await expect(stat(join(ROOT, src)), `COPY ${src}`).resolves.toBeDefined();
    }
  });
});
