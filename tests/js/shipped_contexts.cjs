// The JSON-LD contexts anchor ships, for the tests' offline document loaders: the vendored ones
// (src/anchor/contexts/vendor/index.json: URL -> file) and anchor's own ({url: file under src/anchor/contexts/},
// as the test passes them). Returns a Map from URL to the parsed document; nothing is fetched.
'use strict';

const fs = require('fs');
const path = require('path');

const CONTEXTS = path.join(__dirname, '..', '..', 'src', 'anchor', 'contexts');

function shippedContexts(extensions) {
  const files = {};
  const index = JSON.parse(fs.readFileSync(path.join(CONTEXTS, 'vendor', 'index.json'), 'utf8'));
  for (const [url, entry] of Object.entries(index)) {
    files[url] = path.join(CONTEXTS, 'vendor', entry.file);
  }
  for (const [url, file] of Object.entries(extensions)) {
    files[url] = path.join(CONTEXTS, file);
  }
  const documents = new Map();
  for (const [url, file] of Object.entries(files)) {
    documents.set(url, JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  return documents;
}

module.exports = {shippedContexts};
