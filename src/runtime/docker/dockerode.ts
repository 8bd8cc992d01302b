// dockerode without what berth never uses loaded up front:
//  - its BuildKit session module: dockerode's entry requires lib/session.js
//    when it loads, and that loads @grpc/grpc-js, proto-loader and protobufjs
//    (~8 MiB of a controller's RSS) for buildImage with a session, which berth
//    never calls. A stand-in says why, should anything call it.
//  - docker-modem's SSH transport (ssh2, asn1, crypto helpers: ~5 MiB), needed
//    only for an ssh:// DOCKER_HOST. Its stand-in loads the real module on
//    first use, so an SSH engine still works.
import { createRequire, Module } from 'node:module';
import type DockerodeType from 'dockerode';

const require = createRequire(import.meta.url);

function cached(path: string, exports: unknown): void {
  if (require.cache[path]) return;
  const stub = new Module(path);
  stub.filename = path;
  stub.loaded = true;
  stub.exports = exports;
  require.cache[path] = stub;
}

cached(require.resolve('dockerode/lib/session.js'), function withoutSession(): never {
  throw new Error('berth loads dockerode without BuildKit sessions (buildImage with a session is not supported here)');
});

// docker-modem is dockerode's own dependency: resolve it from there.
const modemRequire = createRequire(require.resolve('dockerode'));
const sshPath = modemRequire.resolve('docker-modem/lib/ssh.js');
let sshTransport: ((this: unknown, ...args: unknown[]) => unknown) | undefined;
cached(sshPath, function sshOnFirstUse(this: unknown, ...args: unknown[]): unknown {
  if (!sshTransport) {
    delete require.cache[sshPath];
    sshTransport = modemRequire(sshPath) as typeof sshTransport;
  }
  return sshTransport!.apply(this, args);
});

/** The dockerode constructor (its types: `import type Dockerode from 'dockerode'`). */
export const Dockerode = require('dockerode') as typeof DockerodeType;
