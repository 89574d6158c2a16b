#!/usr/bin/env node
// Writes the golden files of tests/golden/merkle/ with @openzeppelin/merkle-tree (run once; files are committed).
//
//   node tests/js/make_merkle_golden.js tests/golden/merkle
//
// The values are derived deterministically, so running it again must reproduce the committed files
// byte for byte; the Python tests compare anchor.merkle against these files and never regenerate them.
'use strict';

const fs = require('fs');
const path = require('path');
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
const { keccak256 } = require('ethereum-cryptography/keccak');
const { utf8ToBytes, bytesToHex } = require('ethereum-cryptography/utils');

const digest = text => '0x' + bytesToHex(keccak256(utf8ToBytes(text)));

const goldens = {
  // An anchor batch: (credential digest, index in batch); 13 values, so the tree is not balanced.
  'bytes32-uint256': {
    encoding: ['bytes32', 'uint256'],
    values: Array.from({ length: 13 }, (_, i) => [digest(`anchor golden credential ${i}`), String(i)]),
    multiproof: [0, 3, 4, 12],
  },
  // The classic airdrop shape, with checksummed addresses.
  'address-uint256': {
    encoding: ['address', 'uint256'],
    values: [
      ['0x1111111111111111111111111111111111111111', '5000000000000000000'],
      ['0x2222222222222222222222222222222222222222', '2500000000000000000'],
      ['0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B', '115792089237316195423570985008687907853269984665640564039457584007913129639935'],
      ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0'],
      ['0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '1'],
    ],
    multiproof: [1, 2],
  },
};

const dir = process.argv[2];
if (!dir) {
  console.error('usage: make_merkle_golden.js OUTPUT_DIR');
  process.exit(2);
}
for (const [name, { encoding, values, multiproof }] of Object.entries(goldens)) {
  const tree = StandardMerkleTree.of(values, encoding);
  const proofs = values.map((_, i) => tree.getProof(i));
  const write = (suffix, text) => fs.writeFileSync(path.join(dir, `${name}.${suffix}`), text);
  write('dump.json', JSON.stringify(tree.dump(), null, 2) + '\n');
  write('root', tree.root + '\n');
  write('proofs.json', JSON.stringify(proofs, null, 2) + '\n');
  write('multiproof.json', JSON.stringify({ indices: multiproof, multiproof: tree.getMultiProof(multiproof) }, null, 2) + '\n');
}
