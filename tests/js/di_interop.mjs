#!/usr/bin/env node
// Interop helper: Digital Bazaar's Data Integrity stack (@digitalbazaar/vc, data-integrity,
// eddsa-rdfc-2022-cryptosuite, ed25519-multikey, jsonld in safe mode) signs or verifies credentials.
//
// Its document loader answers only from anchor's vendored contexts (src/anchor/contexts/vendor/index.json,
// read here), the contexts given on stdin (anchor's own extension contexts, test-only contexts) and the DID
// documents given on stdin; any other URL is an error. Nothing is fetched.
//
// stdin:  {"contexts": {url: document}, "dids": {did: DID document}, "cases": [case, ...]} where a case is
//           {"op": "sign", "credential", "seed": hex 32 bytes, "verificationMethod", "created", "now"}
//           {"op": "verify", "credential" (with its proof), "now"}
//           {"op": "canonize", "document"}
//           {"op": "didkey", "seed": hex}: the did:key document of Digital Bazaar's driver for that key
// stdout: {"results": [result, ...]}: {"signed"} | {"verified", "error"} | {"canonical"} | {"document"},
//         or {"error"} when the library throws.
import {readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as didKey from '@digitalbazaar/did-method-key';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const VENDOR = join(ROOT, 'src', 'anchor', 'contexts', 'vendor');

function vendoredContexts() {
  const index = JSON.parse(readFileSync(join(VENDOR, 'index.json'), 'utf8'));
  const contexts = new Map();
  for (const [url, entry] of Object.entries(index)) {
    contexts.set(url, JSON.parse(readFileSync(join(VENDOR, entry.file), 'utf8')));
  }
  return contexts;
}

function makeLoader(contexts, dids) {
  return async url => {
    if (contexts.has(url)) {
      return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
    }
    const [did, fragment] = url.split('#');
    const didDocument = dids[did];
    if (didDocument) {
      if (fragment === undefined) return {contextUrl: null, documentUrl: url, document: didDocument};
      const method = (didDocument.verificationMethod || []).find(vm => vm.id === url);
      if (method) {
        return {
          contextUrl: null,
          documentUrl: url,
          document: {'@context': 'https://w3id.org/security/multikey/v1', ...method},
        };
      }
    }
    throw new Error(`offline document loader: ${url} is not available`);
  };
}

function seedBytes(hex) {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

async function run(c, documentLoader) {
  try {
    if (c.op === 'sign') {
      const [controller] = c.verificationMethod.split('#');
      const keyPair = await Ed25519Multikey.generate({seed: seedBytes(c.seed), id: c.verificationMethod, controller});
      const suite = new DataIntegrityProof({signer: keyPair.signer(), cryptosuite: eddsaRdfc2022, date: c.created});
      const signed = await vc.issue({credential: structuredClone(c.credential), suite, documentLoader, now: c.now});
      return {signed};
    }
    if (c.op === 'verify') {
      const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
      // the status list is not what this helper checks (tests of status lists read it with
      // @digitalbazaar/vc-bitstring-status-list): a credentialStatus entry is left to them
      const checkStatus = async () => ({verified: true});
      const result = await vc.verifyCredential({credential: c.credential, suite, documentLoader, now: c.now, checkStatus});
      const errors = [];
      if (result.error) errors.push(describe(result.error));
      for (const r of result.results || []) if (r.error) errors.push(describe(r.error));
      return {verified: result.verified === true, error: errors.join(' | ')};
    }
    if (c.op === 'canonize') {
      const canonical = await eddsaRdfc2022.canonize(c.document, {documentLoader});
      return {canonical};
    }
    if (c.op === 'didkey') {
      const driver = didKey.driver();
      driver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
      const keyPair = await Ed25519Multikey.generate({seed: seedBytes(c.seed)});
      const {didDocument} = await driver.fromKeyPair({verificationKeyPair: keyPair});
      return {document: didDocument};
    }
    return {error: `unknown op ${c.op}`};
  } catch (e) {
    return {error: describe(e)};
  }
}

function describe(error) {
  const parts = [`${error.name}: ${error.message}`];
  if (error.details && error.details.event) parts.push(`event ${error.details.event.code}`);
  if (error.errors) for (const inner of error.errors) parts.push(describe(inner));
  if (error.cause) parts.push(describe(error.cause));
  return parts.join('; ');
}

const chunks = [];
process.stdin.on('data', chunk => chunks.push(chunk));
process.stdin.on('end', async () => {
  const input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const contexts = vendoredContexts();
  for (const [url, document] of Object.entries(input.contexts || {})) contexts.set(url, document);
  const documentLoader = makeLoader(contexts, input.dids || {});
  const results = [];
  for (const c of input.cases) results.push(await run(c, documentLoader));
  process.stdout.write(JSON.stringify({results}));
});
