// The resources of DESIGN.md as zod schemas. Strict everywhere: an unknown
// field is an error naming its path, never silently ignored.
import { z } from 'zod';
import { parseCpus, parseMemory } from './quantity.js';

export const API_VERSION = 'berth.dev/v1alpha1';
export const GROUP = 'berth.dev';
export const VERSION = 'v1alpha1';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export const Dns1123LabelSchema = z
  .string()
  .max(63, { error: 'must be at most 63 characters' })
  .regex(DNS1123_LABEL, {
    error: (issue) =>
      `invalid name ${JSON.stringify(issue.input)}: must be a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)`,
  });

const StringMapSchema = z.record(z.string(), z.string());

/** berth's own labels (berth.dev/*) record ownership; a template may not set them. */
const ContainerLabelsSchema = StringMapSchema.check((ctx) => {
  for (const key of Object.keys(ctx.value)) {
    if (key.startsWith('berth.dev/')) {
      ctx.issues.push({ code: 'custom', input: key, path: [key], message: 'the berth.dev/ label prefix is reserved for berth' });
    }
  }
});

export const MetadataSchema = z.strictObject({
  name: Dns1123LabelSchema,
  namespace: Dns1123LabelSchema.default('default'),
  labels: StringMapSchema.optional(),
  annotations: StringMapSchema.optional(),
  generation: z.int().min(1).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  finalizers: z.array(z.string()).optional(),
});
export type Metadata = z.infer<typeof MetadataSchema>;

const MemoryQuantitySchema = z.union([z.string(), z.number()]).check((ctx) => {
  if (parseMemory(ctx.value) === undefined) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `invalid quantity ${JSON.stringify(ctx.value)} (e.g. "512Mi", "1Gi", "536870912")` });
  }
});
const CpuQuantitySchema = z.union([z.string(), z.number()]).check((ctx) => {
  if (parseCpus(ctx.value) === undefined) {
    ctx.issues.push({ code: 'custom', input: ctx.value, message: `invalid quantity ${JSON.stringify(ctx.value)} (e.g. "1.5", "500m")` });
  }
});

const PortNumber = z.int().min(1).max(65535);
const Seconds = z.int().min(0);
const PositiveSeconds = z.int().min(1);
const MAX_INT32 = 2_147_483_647;

export const EnvVarSchema = z.strictObject({
  name: z.string().regex(ENV_NAME, { error: 'invalid environment variable name' }),
  value: z.string().default(''),
});

/** Names are unique: with two values for one name, which one the process sees would depend on list order. */
const EnvListSchema = z.array(EnvVarSchema).check((ctx) => {
  const seen = new Set<string>();
  ctx.value.forEach((v, i) => {
    if (seen.has(v.name)) ctx.issues.push({ code: 'custom', input: v.name, path: [i, 'name'], message: `duplicate environment variable ${JSON.stringify(v.name)}` });
    seen.add(v.name);
  });
});

export const PortSchema = z.strictObject({
  containerPort: PortNumber,
  hostPort: PortNumber.optional(),
  protocol: z.enum(['TCP', 'UDP']).default('TCP'),
  hostIP: z.ipv4().or(z.ipv6()).default('127.0.0.1'),
});

export const MountSchema = z
  .strictObject({
    type: z.enum(['volume', 'tmpfs', 'bind']),
    source: z.string().min(1).optional(),
    target: z.string().startsWith('/', { error: 'must be an absolute path' }),
    readOnly: z.boolean().default(false),
  })
  .check((ctx) => {
    if (ctx.value.type !== 'tmpfs' && !ctx.value.source) {
      ctx.issues.push({ code: 'custom', input: ctx.value, path: ['source'], message: `required for a ${ctx.value.type} mount` });
    }
  });

export const ResourcesSchema = z.strictObject({
  cpus: CpuQuantitySchema.optional(),
  memory: MemoryQuantitySchema.optional(),
  pids: z.int().min(1).optional(),
});

export const SecuritySchema = z.strictObject({
  capDrop: z.array(z.string()).default(() => ['ALL']),
  capAdd: z.array(z.string()).default([]),
  noNewPrivileges: z.boolean().default(true),
  readOnlyRootFilesystem: z.boolean().default(false),
  privileged: z.boolean().default(false),
});

export const HealthCheckSchema = z
  .strictObject({
    exec: z.strictObject({ command: z.array(z.string()).min(1) }).optional(),
    http: z.strictObject({ port: PortNumber, path: z.string().startsWith('/').default('/') }).optional(),
    tcp: z.strictObject({ port: PortNumber }).optional(),
    initialDelaySeconds: Seconds.default(0),
    periodSeconds: PositiveSeconds.default(10),
    timeoutSeconds: PositiveSeconds.default(2),
    failureThreshold: PositiveSeconds.default(3),
    successThreshold: PositiveSeconds.default(1),
  })
  .check((ctx) => {
    const kinds = ['exec', 'http', 'tcp'].filter((k) => ctx.value[k as 'exec'] !== undefined);
    if (kinds.length !== 1) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: `exactly one of exec, http or tcp is required (found ${kinds.length === 0 ? 'none' : kinds.join(', ')})` });
    }
  });

const templateShape = {
  image: z.string().min(1, { error: 'required' }),
  imagePullPolicy: z.enum(['IfNotPresent', 'Always', 'Never']).default('IfNotPresent'),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  workingDir: z.string().optional(),
  env: EnvListSchema.default([]),
  user: z.string().optional(),
  ports: z.array(PortSchema).default([]),
  network: z.string().min(1).default('bridge'),
  mounts: z.array(MountSchema).default([]),
  resources: ResourcesSchema.default({}),
  // A function, so each parse gets fresh arrays: zod copies a default value only shallowly.
  security: SecuritySchema.default(() => ({ capDrop: ['ALL'], capAdd: [], noNewPrivileges: true, readOnlyRootFilesystem: false, privileged: false })),
  healthCheck: HealthCheckSchema.optional(),
  labels: ContainerLabelsSchema.default({}),
  stopGracePeriodSeconds: Seconds.default(10),
};

export const ContainerTemplateSchema = z.strictObject(templateShape);
export type ContainerTemplate = z.infer<typeof ContainerTemplateSchema>;

export const InstanceSpecSchema = z.strictObject({
  ...templateShape,
  state: z.enum(['Running', 'Stopped']).default('Running'),
  restartPolicy: z.enum(['Always', 'OnFailure', 'Never']).default('Always'),
  maxAgeSeconds: PositiveSeconds.optional(),
  ttlSecondsAfterFinished: Seconds.optional(),
  failedRetentionSeconds: Seconds.optional(),
});
export type InstanceSpec = z.infer<typeof InstanceSpecSchema>;

/** Fields of an Instance spec that are lifecycle policy, not container config. */
export const INSTANCE_POLICY_FIELDS = ['state', 'restartPolicy', 'maxAgeSeconds', 'ttlSecondsAfterFinished', 'failedRetentionSeconds'] as const;

export const InstancePoolSpecSchema = z
  .strictObject({
    template: ContainerTemplateSchema,
    minReady: z.int().min(0).default(1),
    maxSize: z.int().min(1).optional(),
    maxAgeSeconds: PositiveSeconds.optional(),
    idleTimeoutSeconds: PositiveSeconds.optional(),
    recycle: z
      .strictObject({
        policy: z.enum(['Replace', 'Reuse']).default('Replace'),
        maxUses: z.int().min(1).optional(),
        // How long a released member may take to stop; 0 kills it at once (a used sandbox holds nothing worth a grace period).
        gracePeriodSeconds: Seconds.default(0),
      })
      .default({ policy: 'Replace', gracePeriodSeconds: 0 }),
    claimTimeoutSeconds: Seconds.default(30),
    updateStrategy: z
      .strictObject({ maxSurge: z.int().min(0).default(1), maxUnavailable: z.int().min(0).default(0) })
      .default({ maxSurge: 1, maxUnavailable: 0 }),
  })
  .check((ctx) => {
    const { minReady, maxSize, updateStrategy } = ctx.value;
    if (maxSize !== undefined && maxSize < minReady) {
      ctx.issues.push({ code: 'custom', input: maxSize, path: ['maxSize'], message: `must be at least minReady (${minReady})` });
    }
    if (updateStrategy.maxSurge === 0 && updateStrategy.maxUnavailable === 0) {
      ctx.issues.push({ code: 'custom', input: updateStrategy, path: ['updateStrategy'], message: 'maxSurge and maxUnavailable cannot both be 0' });
    }
  });
export type InstancePoolSpec = z.infer<typeof InstancePoolSpecSchema>;

export const InstanceClaimSpecSchema = z.strictObject({
  poolRef: z.strictObject({ name: Dns1123LabelSchema }),
  // At most Kubernetes' int32 seconds (68 years): the lease's end must be a date the apiserver can store.
  ttlSeconds: PositiveSeconds.max(MAX_INT32, { error: `must be at most ${MAX_INT32} (68 years)` }).optional(),
});
export type InstanceClaimSpec = z.infer<typeof InstanceClaimSpecSchema>;

// status is written by berth; a spec file or apply may carry one (kubectl get -o yaml
// round-trips), and it is ignored rather than refused.
const IgnoredStatus = z.unknown().optional();

export const InstanceSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Instance'),
  metadata: MetadataSchema,
  spec: InstanceSpecSchema,
  status: IgnoredStatus,
});
export const InstancePoolSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('InstancePool'),
  metadata: MetadataSchema,
  spec: InstancePoolSpecSchema,
  status: IgnoredStatus,
});
export const InstanceClaimSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('InstanceClaim'),
  metadata: MetadataSchema,
  spec: InstanceClaimSpecSchema,
  status: IgnoredStatus,
});
export type Instance = z.infer<typeof InstanceSchema>;
export type InstancePool = z.infer<typeof InstancePoolSchema>;
export type InstanceClaim = z.infer<typeof InstanceClaimSchema>;
export type Resource = Instance | InstancePool | InstanceClaim;

export const KINDS = {
  Instance: { schema: InstanceSchema, plural: 'instances', singular: 'instance', shortNames: ['inst'] },
  InstancePool: { schema: InstancePoolSchema, plural: 'instancepools', singular: 'instancepool', shortNames: ['ipool', 'pool'] },
  InstanceClaim: { schema: InstanceClaimSchema, plural: 'instanceclaims', singular: 'instanceclaim', shortNames: ['iclaim', 'claim'] },
} as const;
export type Kind = keyof typeof KINDS;
export const KIND_NAMES = Object.keys(KINDS) as Kind[];

/** A resource's identity: kind, namespace and name. */
export interface ResourceKey {
  kind: Kind;
  namespace: string;
  name: string;
}
export const keyString = (k: ResourceKey): string => `${k.kind}/${k.namespace}/${k.name}`;
export function parseKeyString(s: string): ResourceKey {
  const [kind, namespace, name] = s.split('/');
  return { kind: kind as Kind, namespace: namespace!, name: name! };
}
export const keyOf = (r: Resource): ResourceKey => ({ kind: r.kind, namespace: r.metadata.namespace, name: r.metadata.name });

/** Resolves a user's word for a kind ("instances", "pool", "Instance") to the Kind. */
export function resolveKind(word: string): Kind | undefined {
  const w = word.toLowerCase();
  for (const kind of KIND_NAMES) {
    const k = KINDS[kind];
    if (w === kind.toLowerCase() || w === k.plural || w === k.singular || (k.shortNames as readonly string[]).includes(w)) return kind;
  }
  return undefined;
}

/**
 * The container template inside an Instance spec: the spec minus its lifecycle
 * policy (state, restartPolicy, maxAgeSeconds, ttlSecondsAfterFinished,
 * failedRetentionSeconds), which never recreates a container.
 */
export function templateOfInstance(spec: InstanceSpec): ContainerTemplate {
  const template: Record<string, unknown> = { ...spec };
  for (const field of INSTANCE_POLICY_FIELDS) delete template[field];
  return template as ContainerTemplate;
}
