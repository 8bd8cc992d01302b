import { describe, expect, it } from 'vitest';
import { parseSpecText } from './load.js';
import { ALLOW_ALL_ISOLATION, DEFAULT_POLICY, isLoopbackAddress, isRootUser } from './policy.js';

const doc = (spec: string): string => `apiVersion: berth.dev/v1alpha1\nkind: Instance\nmetadata:\n  name: web\nspec:\n  image: x\n${spec}`;

describe('isolation policy', () => {
  it.each([
    ['  network: container:victim\n', 'f.yaml:7 spec.network: joining another container\'s network namespace is refused by this controller (start it with --allow-container-network)'],
    ['  security:\n    capDrop: []\n', 'f.yaml:8 spec.security.capDrop: must include ALL'],
    ['  security:\n    capDrop: [NET_RAW]\n', 'f.yaml:8 spec.security.capDrop: must include ALL'],
    ['  security:\n    noNewPrivileges: false\n', 'f.yaml:8 spec.security.noNewPrivileges: false is refused'],
    ['  user: "0:0"\n', 'f.yaml:7 spec.user: "0:0" runs as uid 0'],
    ['  user: root\n', 'f.yaml:7 spec.user: "root" runs as uid 0'],
    ['  ports:\n    - containerPort: 80\n      hostIP: 0.0.0.0\n', 'f.yaml:9 spec.ports[0].hostIP: 0.0.0.0 publishes the port beyond this machine'],
    ['  ports:\n    - containerPort: 80\n      hostIP: "::"\n', 'f.yaml:9 spec.ports[0].hostIP: :: publishes the port beyond this machine'],
  ])('refuses %j with a located error, and allows it with the flag', (spec, message) => {
    const refused = parseSpecText(doc(spec), 'f.yaml');
    expect(refused.resources).toEqual([]);
    expect(refused.errors.map((e) => e.format())).toEqual([expect.stringContaining(message)]);
    const allowed = parseSpecText(doc(spec), 'f.yaml', { policy: { ...DEFAULT_POLICY, ...ALLOW_ALL_ISOLATION } });
    expect(allowed.errors).toEqual([]);
  });

  it('accepts the hardened forms', () => {
    const r = parseSpecText(doc('  user: "65534:65534"\n  network: none\n  security:\n    capDrop: [all]\n  ports:\n    - containerPort: 80\n      hostIP: "::1"\n'), 'f.yaml');
    expect(r.errors.map(String)).toEqual([]);
  });

  it('knows uid 0 and loopback when it sees them', () => {
    expect(['0', 'root', '0:0', 'root:1000', '00', ' 0 '].every(isRootUser)).toBe(true);
    expect(['1000', 'rooty', '10', '65534:0', 'app'].some(isRootUser)).toBe(false);
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].every(isLoopbackAddress)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1'].some(isLoopbackAddress)).toBe(false);
  });
});
