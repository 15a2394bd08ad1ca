// SPDX-License-Identifier: Apache-2.0
// Writes a TUF repository signed by @tufjs/models and Node's crypto, for tender's client:
// ECDSA P-256, RSA-PSS and Ed25519 keys, a root rotation (2.root.json signed by the old and the
// new root key) and a delegated role holding the target with tender's custom fields.
// Usage: node sign.mjs OUT_DIR   (writes OUT_DIR/metadata and OUT_DIR/targets)
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalize } from '@tufjs/canonical-json';
import {
  Key, MetaFile, Metadata, Root, Signature, Snapshot, TargetFile, Targets, Timestamp,
} from '@tufjs/models';

const out = process.argv[2];
const metaDir = path.join(out, 'metadata');
fs.mkdirSync(path.join(out, 'targets/apps/hello'), { recursive: true });
fs.mkdirSync(metaDir, { recursive: true });

function makeKey(kind) {
  if (kind === 'ed25519') {
    // TUF's Ed25519 public key is the raw 32 bytes in hex: the tail of the SPKI DER.
    const pair = crypto.generateKeyPairSync('ed25519');
    const raw = pair.publicKey.export({ type: 'spki', format: 'der' }).subarray(-32);
    const fields = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
    const keyID = crypto.createHash('sha256').update(canonicalize(fields)).digest('hex');
    const signer = (data) => new Signature({ keyID, sig: crypto.sign(null, data, pair.privateKey).toString('hex') });
    return { key: Key.fromJSON(keyID, fields), signer, keyID };
  }
  const pair = kind === 'ecdsa'
    ? crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = pair.publicKey.export({ type: 'spki', format: 'pem' });
  const fields = kind === 'ecdsa'
    ? { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } }
    : { keytype: 'rsa', scheme: 'rsassa-pss-sha256', keyval: { public: pem } };
  const keyID = crypto.createHash('sha256').update(canonicalize(fields)).digest('hex');
  const key = Key.fromJSON(keyID, fields);
  const signer = (data) => {
    const opts = kind === 'ecdsa' ? pair.privateKey : {
      key: pair.privateKey,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    };
    return new Signature({ keyID, sig: crypto.sign('sha256', data, opts).toString('hex') });
  };
  return { key, signer, keyID };
}

// Whole seconds: the specification's "YYYY-MM-DDTHH:MM:SSZ".
const expires = (days) => new Date(Date.now() + days * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
const write = (name, md) => {
  const bytes = Buffer.from(JSON.stringify(md.toJSON(), null, 1));
  fs.writeFileSync(path.join(metaDir, name), bytes);
  return bytes;
};
const hashes = (bytes) => ({ sha256: crypto.createHash('sha256').update(bytes).digest('hex') });

const root1 = makeKey('ecdsa'), root2 = makeKey('rsa');
const ts = makeKey('rsa'), snap = makeKey('ed25519'), targ = makeKey('ecdsa'), deleg = makeKey('ed25519');

function rootV(version, rootKey) {
  const root = new Root({ version, specVersion: '1.0.31', expires: expires(365), consistentSnapshot: false });
  root.addKey(rootKey.key, 'root');
  root.addKey(ts.key, 'timestamp');
  root.addKey(snap.key, 'snapshot');
  root.addKey(targ.key, 'targets');
  return new Metadata(root);
}
const r1 = rootV(1, root1);
r1.sign(root1.signer);
write('1.root.json', r1);
const r2 = rootV(2, root2);
r2.sign(root1.signer);
r2.sign(root2.signer);
write('2.root.json', r2);

const manifest = Buffer.from(JSON.stringify({ app: 'hello', version: '1.0.0' }) + '\n');
fs.writeFileSync(path.join(out, 'targets/apps/hello/1.0.0.json'), manifest);
const target = new TargetFile({
  path: 'apps/hello/1.0.0.json', length: manifest.length, hashes: hashes(manifest),
  unrecognizedFields: { custom: { app: 'hello', version: '1.0.0', releaseCounter: 7 } },
});
const hello = new Metadata(new Targets({
  version: 1, specVersion: '1.0.31', expires: expires(30), targets: { [target.path]: target },
}));
hello.sign(deleg.signer);
write('hello.json', hello);

// The package exports no Delegations class; the models read it from JSON.
const top = new Metadata(Targets.fromJSON({
  _type: 'targets', spec_version: '1.0.31', version: 1, expires: expires(30), targets: {},
  delegations: {
    keys: { [deleg.keyID]: deleg.key.toJSON() },
    roles: [{ name: 'hello', keyids: [deleg.keyID], threshold: 1, terminating: true,
              paths: ['apps/hello/*'] }],
  },
}));
top.sign(targ.signer);
const topBytes = write('targets.json', top);

const snapshot = new Metadata(new Snapshot({
  version: 1, specVersion: '1.0.31', expires: expires(7),
  meta: {
    'targets.json': new MetaFile({ version: 1, length: topBytes.length, hashes: hashes(topBytes) }),
    'hello.json': new MetaFile({ version: 1 }),
  },
}));
snapshot.sign(snap.signer);
const snapBytes = write('snapshot.json', snapshot);

const timestamp = new Metadata(new Timestamp({
  version: 1, specVersion: '1.0.31', expires: expires(1),
  snapshotMeta: new MetaFile({ version: 1, length: snapBytes.length, hashes: hashes(snapBytes) }),
}));
timestamp.sign(ts.signer);
write('timestamp.json', timestamp);
console.log(`wrote ${out}`);
