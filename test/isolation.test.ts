// Specs cannot get around isolation (issue 10, item 3), on the real engine:
// what the policy refuses creates no container and is reported at its file,
// line and field; a named volume is mounted only by the resource berth created
// it for; `berth validate` refuses the same, and its --allow-* flags allow it.
import type Dockerode from 'dockerode';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manager } from '../src/manager/manager.js';
import { LABEL } from '../src/runtime/types.js';
import { noEngine } from './support/provided.js';
import { eventually } from './support/runtime-contract.js';
import { TEST_IMAGE, testDocker } from './support/engine.js';
import { instanceYaml, isReady, managedContainers, removeDirs, runCli, startManager, statusOf, testDirs, writeSpec, type TestDirs } from './support/controller.js';

const ESCAPES: Array<[string, Record<string, unknown>, RegExp]> = [
  ['netns', { network: 'container:VICTIM' }, /spec\.network: joining another container's network namespace is refused .*--allow-container-network/],
  ['capdrop', { security: { capDrop: [] } }, /spec\.security\.capDrop: must include ALL.*--allow-cap-drop-without-all/],
  ['nnp', { security: { noNewPrivileges: false } }, /spec\.security\.noNewPrivileges: false is refused.*--allow-privilege-escalation/],
  ['root', { user: '0:0' }, /spec\.user: "0:0" runs as uid 0.*--allow-root-user/],
  ['public', { ports: [{ containerPort: 80, hostIP: '0.0.0.0' }] }, /spec\.ports\[0\]\.hostIP: 0\.0\.0\.0 publishes the port beyond this machine.*--allow-public-ports/],
];

describe.skipIf(noEngine())('isolation policy on the real engine', () => {
  let d: TestDirs;
  let m: Manager;
  let victim: Dockerode.Container;
  const foreignVolume = `berth-test-foreign-${Math.random().toString(16).slice(2, 10)}`;

  beforeAll(async () => {
    d = await testDirs();
    const docker = testDocker();
    // Someone else's container and volume: no berth label.
    victim = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '3600'], Labels: { 'berth-test-foreign': d.controllerId } });
    await victim.start();
    await docker.createVolume({ Name: foreignVolume, Labels: { 'berth-test-foreign': d.controllerId } });
    for (const [name, extra] of ESCAPES) await writeSpec(d, `${name}.yaml`, instanceYaml(name, JSON.parse(JSON.stringify(extra).replace('VICTIM', victim.id))));
    await writeSpec(d, 'good.yaml', instanceYaml('good'));
    m = await startManager(d);
  });

  afterAll(async () => {
    await m?.stop();
    if (d) await removeDirs(d);
    await victim?.remove({ force: true }).catch(() => undefined);
    await testDocker().getVolume(foreignVolume).remove().catch(() => undefined);
  });

  it('refuses container: networks, capDrop without ALL, noNewPrivileges false, uid 0 and public hostIP with a located error; creates none of them', async () => {
    await eventually('good Ready', () => (isReady(statusOf(m, 'good')) ? true : undefined), 60_000);
    const warnings = m.recorder.list().filter((e) => e.reason === 'InvalidSpec').map((e) => e.message);
    for (const [name, , message] of ESCAPES) {
      const w = warnings.find((x) => x.includes(`${name}.yaml`));
      expect(w, name).toMatch(new RegExp(`${name}\\.yaml:1 `));
      expect(w, name).toMatch(message);
    }
    expect((await managedContainers(d.controllerId)).map((c) => c.labels[LABEL.name])).toEqual(['good']);
  });

  it('mounts a named volume only for the resource berth created it for', async () => {
    await writeSpec(d, 'owner.yaml', instanceYaml('owner', { mounts: [{ type: 'volume', source: `${d.controllerId}-data`, target: '/data' }] }));
    await eventually('owner Ready', () => (isReady(statusOf(m, 'owner')) ? true : undefined), 60_000);
    const vol = await testDocker().getVolume(`${d.controllerId}-data`).inspect();
    expect(vol.Labels).toMatchObject({ [LABEL.managedBy]: d.controllerId, [LABEL.kind]: 'Instance', [LABEL.namespace]: 'default', [LABEL.name]: 'owner' });

    await writeSpec(d, 'thief.yaml', instanceYaml('thief', { mounts: [{ type: 'volume', source: `${d.controllerId}-data`, target: '/data' }] }));
    await writeSpec(d, 'foreign.yaml', instanceYaml('foreign', { mounts: [{ type: 'volume', source: foreignVolume, target: '/data' }] }));
    const degraded = (name: string) => statusOf(m, name)?.conditions.find((c) => c.type === 'Degraded' && c.status === 'True');
    const thief = await eventually('thief refused', () => degraded('thief'), 60_000);
    expect(thief.message).toMatch(/spec\.mounts\[0\]\.source: volume "[^"]+-data" exists and it belongs to Instance default\/owner of controller .*--allow-foreign-volumes/);
    const foreign = await eventually('foreign refused', () => degraded('foreign'), 60_000);
    expect(foreign.message).toMatch(/spec\.mounts\[0\]\.source: volume "berth-test-foreign-[0-9a-f]+" exists and berth did not create it/);
    expect((await managedContainers(d.controllerId)).map((c) => c.labels[LABEL.name]).sort()).toEqual(['good', 'owner']);
    // The foreign volume was not relabelled or touched.
    expect((await testDocker().getVolume(foreignVolume).inspect()).Labels).toEqual({ 'berth-test-foreign': d.controllerId });
  });

  it('berth validate refuses the same with file:line field, and --allow-* flags allow them', async () => {
    const files = ESCAPES.map(([name]) => join(d.specDir, `${name}.yaml`));
    const refused = await runCli(['validate', '-f', ...files]);
    expect(refused.code).toBe(1);
    for (const [name, , message] of ESCAPES) expect(refused.stdout).toMatch(new RegExp(`${name}\\.yaml:1 ${message.source}`));
    const allowed = await runCli(['validate', '-f', ...files, '--allow-container-network', '--allow-cap-drop-without-all', '--allow-privilege-escalation', '--allow-root-user', '--allow-public-ports']);
    expect(allowed).toMatchObject({ code: 0, stdout: '5 resources valid\n' });
  });
});
