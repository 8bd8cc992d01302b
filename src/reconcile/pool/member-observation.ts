// A pool's members as one reconcile sees them, pure: the engine's list,
// corrected by what the lifecycle actors did since it was taken (created,
// being created, told to go), with each member's health, claim and idle
// time. Everything here is derived from the list, the actors and the claim
// records, so it reads the same after a controller restart.
import { containerNameFor } from '../desired.js';
import type { ResourceKey } from '../../spec/schema.js';
import { LABEL, type ObservedContainer, type ObservedPort } from '../../runtime/types.js';
import type { MemberHealth, ObservedMember } from './types.js';

/** What a member's lifecycle actor knows (plain data). */
export interface MemberActor {
  containerId?: string;
  labels: Record<string, string>;
  createdAt: number;
  ports: ObservedPort[];
  /** The lifecycle phase: Pending, Creating, Starting, Probing, Ready, Unhealthy, Stopped, Failed, ... */
  phase: string;
  ready: boolean;
  /** Told to go: being stopped or removed. */
  terminating: boolean;
  /** Its operations gave up. */
  failed?: unknown;
}

/** What the claim records say of a member. */
export interface MemberClaimRecord {
  uses: number;
  claim?: string;
  released?: boolean;
  /** Epoch ms of its last Reuse recycle. */
  recycledAt?: number;
}

export interface MemberObservationInput {
  key: ResourceKey;
  listed: readonly ObservedContainer[];
  actors: readonly MemberActor[];
  record: (member: string) => MemberClaimRecord;
}

export interface MemberObservation {
  members: ObservedMember[];
  /** Members being stopped or removed: they hold a place within maxSize and are never warm. */
  terminating: number;
  /** Member ids that still exist in some form (listed, starting or terminating). */
  present: Set<string>;
}

export function observeMembers(input: MemberObservationInput): MemberObservation {
  const { key, listed, actors } = input;
  const byId = new Map(actors.flatMap((a) => (a.containerId !== undefined ? [[a.containerId, a] as const] : [])));
  // A container listed before the create call that made it returned belongs to the actor still creating it.
  const creating = new Map(actors.flatMap((a) => (a.containerId === undefined && a.labels[LABEL.member] !== undefined ? [[a.labels[LABEL.member]!, a] as const] : [])));
  const listedIds = new Set(listed.map((c) => c.id));
  const members: ObservedMember[] = [];
  const present = new Set<string>();
  let terminating = 0;
  for (const c of listed) {
    const id = c.member ?? c.id.slice(0, 12);
    present.add(id);
    const actor = byId.get(c.id) ?? (c.member !== undefined ? creating.get(c.member) : undefined);
    if (actor && actor.containerId === undefined) listedIds.add(`creating-${id}`);
    if (c.state === 'removing' || actor?.terminating) {
      terminating++;
      continue;
    }
    members.push(member(c, memberHealth(c, actor), input.record(id)));
  }
  // Created or being created since the list was taken: members already, starting.
  for (const a of actors) {
    if (a.containerId !== undefined && listedIds.has(a.containerId)) continue;
    const id = a.labels[LABEL.member];
    if (id === undefined || listedIds.has(`creating-${id}`)) continue;
    present.add(id);
    if (a.terminating) {
      terminating++;
      continue;
    }
    if (a.failed) continue;
    members.push(member(inFlightContainer(key, a, id), a.ready ? 'ready' : 'starting', input.record(id)));
  }
  return { members, terminating, present };
}

/**
 * A member is idle since its last recycle, or since it was created: both
 * survive a restart (the claim records, the container's creation time),
 * unlike a timestamp kept in memory.
 */
function member(c: ObservedContainer, health: MemberHealth, rec: MemberClaimRecord): ObservedMember {
  return {
    container: c,
    health,
    ...(rec.claim !== undefined ? { claimedBy: rec.claim } : {}),
    ...(rec.released ? { released: true } : {}),
    uses: rec.uses,
    idleSince: Math.max(rec.recycledAt ?? 0, c.createdAt),
  };
}

/** A member's health from the engine's state and its lifecycle actor. */
export function memberHealth(c: ObservedContainer, actor: MemberActor | undefined): MemberHealth {
  if (c.state === 'exited' || c.state === 'dead') return 'exited';
  if (!actor) return c.state === 'running' ? 'starting' : 'exited';
  const phase = actor.phase;
  if (phase === 'Ready') return 'ready';
  if (phase === 'Unhealthy') return 'unhealthy';
  if (phase === 'Stopped' || phase === 'Failed') return 'exited';
  // Created but never started (a controller killed between create and start): nothing will start it, so it is replaced.
  // A list taken before the actor's start returned still says created: Probing means it has been started since.
  if (c.state === 'created' && !['Pending', 'Creating', 'Starting', 'Probing'].includes(phase)) return 'exited';
  return 'starting';
}

/** A member the list did not show yet, as its create request labelled it. */
function inFlightContainer(key: ResourceKey, a: MemberActor, member: string): ObservedContainer {
  const labels = a.labels;
  return {
    id: a.containerId ?? `creating-${member}`,
    name: containerNameFor(key, member),
    labels,
    managedBy: labels[LABEL.managedBy] ?? '',
    kind: 'InstancePool',
    namespace: key.namespace,
    owner: key.name,
    member,
    ...(labels[LABEL.configHash] !== undefined ? { configHash: labels[LABEL.configHash] } : {}),
    ...(labels[LABEL.hashVersion] !== undefined ? { hashVersion: labels[LABEL.hashVersion] } : {}),
    createdAt: a.createdAt,
    state: a.containerId === undefined ? 'created' : 'running',
    hostPorts: [],
    ports: a.ports,
  };
}
