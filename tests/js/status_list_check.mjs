#!/usr/bin/env node
// Interop helper: reads credentials' revocation status the way a standard wallet does, with Digital Bazaar's
// @digitalbazaar/vc-bitstring-status-list (checkStatus: it loads the BitstringStatusListCredential the entry
// names, verifies its eddsa-rdfc-2022 proof with @digitalbazaar/vc, checks its issuer is the credential's,
// and reads the entry's bit).
//
// The document loader is offline and answers only from: the contexts anchor ships
// (src/anchor/contexts/vendor/index.json and anchor's own files, given on stdin), the status list
// credentials given on stdin (by their URL), and did:key DIDs (derived from the DID itself). Any other URL
// is an error, so nothing is fetched.
//
// stdin:  {"extensions": {url: file}, "statusLists": {url: document}, "credentials": [credential, ...]}
// stdout: {"results": [{"verified": bool, "revoked": bool | null, "error": string | null}, ...]}
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as didKey from '@digitalbazaar/did-method-key';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';

import shipped from './shipped_contexts.cjs';

const {shippedContexts} = shipped;

const chunks = [];
process.stdin.on('data', chunk => chunks.push(chunk));
process.stdin.on('end', async () => {
  const {extensions, statusLists, credentials} = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const documents = shippedContexts(extensions);
  for (const [url, document] of Object.entries(statusLists)) {
    documents.set(url, document);
  }
  const didKeyDriver = didKey.driver();
  didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});
  const documentLoader = async url => {
    if (url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    if (!documents.has(url)) {
      throw new Error(`${url} is not a shipped context or a given status list; nothing is fetched`);
    }
    return {contextUrl: null, documentUrl: url, document: structuredClone(documents.get(url))};
  };
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  const results = [];
  for (const credential of credentials) {
    const result = await checkStatus({
      credential,
      documentLoader,
      suite,
      verifyBitstringStatusListCredential: true,
      verifyMatchingIssuers: true,
    });
    const statuses = (result.results || []).map(item => item.status);
    results.push({
      verified: result.verified === true,
      revoked: statuses.length === 1 ? statuses[0] : null,
      error: result.error ? `${result.error.name}: ${result.error.message}` : null,
    });
  }
  process.stdout.write(JSON.stringify({results}));
});
