#!/usr/bin/env node
// Cross-check helper: expands JSON-LD documents with `jsonld` (Digital Bazaar) in safe mode, offline.
//
// The document loader answers only from the contexts anchor ships: src/anchor/contexts/vendor/index.json
// (URL -> file) and anchor's own contexts (URL -> file under src/anchor/contexts/, given on stdin);
// any other URL is an error, so nothing is fetched.
//
// stdin:  {"extensions": {url: file, ...}, "cases": [document, ...]}
// stdout: {"results": [result, ...]}, one per case, each
//           {"expanded": [...], "nquads": "<RDFC-1.0 canonical N-Quads, also in safe mode>"}
//         or {"error": message, "code": the unsafe event's code or the error's name}
'use strict';

const jsonld = require('jsonld');

const {shippedContexts} = require('./shipped_contexts.cjs');

async function run(document, documentLoader) {
  const options = {documentLoader, safe: true};
  try {
    const expanded = await jsonld.expand(document, options);
    const nquads = await jsonld.canonize(document, {...options, algorithm: 'RDFC-1.0', format: 'application/n-quads'});
    return {expanded, nquads};
  } catch (e) {
    const event = e.details && e.details.event;
    const code = event ? event.code : (e.details && e.details.code) || e.name;
    return {error: `${e.name}: ${e.message}${event ? ` (${event.code}: ${event.message})` : ''}`, code};
  }
}

const chunks = [];
process.stdin.on('data', chunk => chunks.push(chunk));
process.stdin.on('end', async () => {
  const {extensions, cases} = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const documents = shippedContexts(extensions);
  const documentLoader = async url => {
    if (!documents.has(url)) {
      throw new Error(`context ${url} is not one anchor ships; nothing is fetched`);
    }
    return {contextUrl: null, documentUrl: url, document: structuredClone(documents.get(url))};
  };
  const results = [];
  for (const document of cases) {
    results.push(await run(document, documentLoader));
  }
  process.stdout.write(JSON.stringify({results}));
});
