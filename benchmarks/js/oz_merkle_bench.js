#!/usr/bin/env node
// Benchmark peer: @openzeppelin/merkle-tree on the input file written by benchmarks/merkle_bench.py.
//
//   node benchmarks/js/oz_merkle_bench.js INPUT N
//
// INPUT holds N digests of 32 bytes; value i is (digest i, i) encoded as ["bytes32", "uint256"].
// Prints one JSON line: build and all-proofs times in seconds, the root, and peak RSS.
'use strict';

const fs = require('fs');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');

const [input, count] = process.argv.slice(2);
const n = Number(count);
const data = fs.readFileSync(input);
const values = new Array(n);
for (let i = 0; i < n; i++) {
  values[i] = ['0x' + data.subarray(32 * i, 32 * i + 32).toString('hex'), String(i)];
}

const seconds = start => Number(process.hrtime.bigint() - start) / 1e9;
let start = process.hrtime.bigint();
const tree = StandardMerkleTree.of(values, ['bytes32', 'uint256']);
const build = seconds(start);

start = process.hrtime.bigint();
let nodes = 0;
for (let i = 0; i < n; i++) nodes += tree.getProof(i).length; // each proof is re-verified by the library
const proofs = seconds(start);

console.log(JSON.stringify({ build_s: build, proofs_s: proofs, root: tree.root, nodes, self_rss_kb: process.resourceUsage().maxRSS }));
