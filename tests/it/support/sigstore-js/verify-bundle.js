// sigstore-js (@sigstore/verify, the library under the `sigstore` npm package) verifies a
// bundle against a public key: the key chosen by its hint through the key finder
// (keySelector), the transparency-log, CT-log and timestamp thresholds at zero, an empty
// trusted root (no online service). Then the in-toto statement must name DIGEST.
//   node verify-bundle.js BUNDLE.json PUB.pem sha256:HEX
const fs = require('fs');
const crypto = require('crypto');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

const [bundlePath, keyPath, digest] = process.argv.slice(2);
const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
const publicKey = crypto.createPublicKey(fs.readFileSync(keyPath));
const keySelector = () => ({ publicKey, validFor: () => true });
const root = { certificateAuthorities: [], timestampAuthorities: [], tlogs: [], ctlogs: [] };
const verifier = new Verifier(toTrustMaterial(root, keySelector), {
  tlogThreshold: 0,
  ctlogThreshold: 0,
  tsaThreshold: 0,
});
verifier.verify(toSignedEntity(bundle));
const statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
const hex = digest.replace(/^sha256:/, '');
if (!statement.subject.some((s) => s.digest.sha256 === hex)) {
  console.error('the statement names another subject');
  process.exit(1);
}
console.log('verified');
