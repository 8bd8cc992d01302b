// dockerode without its BuildKit session module. dockerode's entry requires
// lib/session.js when it loads, and that loads @grpc/grpc-js, proto-loader and
// protobufjs (~8 MiB of a controller's RSS) for buildImage with a session,
// which berth never calls. A stand-in is put in the require cache first;
// should anything call it, it says why instead of failing obscurely.
import { createRequire, Module } from 'node:module';
import type DockerodeType from 'dockerode';

const require = createRequire(import.meta.url);

function withoutSession(): void {
  throw new Error('berth loads dockerode without BuildKit sessions (buildImage with a session is not supported here)');
}

const sessionPath = require.resolve('dockerode/lib/session.js');
if (!require.cache[sessionPath]) {
  const stub = new Module(sessionPath);
  stub.filename = sessionPath;
  stub.loaded = true;
  stub.exports = withoutSession;
  require.cache[sessionPath] = stub;
}

/** The dockerode constructor (its types: `import type Dockerode from 'dockerode'`). */
export const Dockerode = require('dockerode') as typeof DockerodeType;
