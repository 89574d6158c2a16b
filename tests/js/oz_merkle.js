#!/usr/bin/env node
// Cross-check helper: runs @openzeppelin/merkle-tree (the reference implementation) on a batch of cases.
//
// stdin:  {"cases": [case, ...]} where a case is either
//           {"op": "of", "encoding": [...], "values": [[...], ...], "multiproofs": [[i, ...], ...]}
//           {"op": "load", "dump": {...}, "multiproofs": [[i, ...], ...]}
// stdout: {"results": [result, ...]}, one per case, each
//           {"root", "proofs": [proof of value i, ...], "multiproofs": [...], "dump", "render"}
//         or {"error": message} when the library refuses the case.
'use strict';

const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

function run(c) {
  try {
    const tree = c.op === 'load' ? StandardMerkleTree.load(c.dump) : StandardMerkleTree.of(c.values, c.encoding);
    const proofs = [];
    for (let i = 0; i < tree.length; i++) proofs.push(tree.getProof(i));
    return {
      root: tree.root,
      proofs,
      multiproofs: (c.multiproofs || []).map(indices => tree.getMultiProof(indices)),
      dump: tree.dump(),
      render: tree.render(),
    };
  } catch (e) {
    return { error: `${e.name}: ${e.message}` };
  }
}

const chunks = [];
process.stdin.on('data', chunk => chunks.push(chunk));
process.stdin.on('end', () => {
  const { cases } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  process.stdout.write(JSON.stringify({ results: cases.map(run) }));
});
