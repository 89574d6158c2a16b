"""Check what cert-issuer wrote, offline, with cert-issuer's own libraries (runs in .venv-certissuer, Python 3.10).

    .venv-certissuer/bin/python benchmarks/peers/certissuer/check_output.py \
        --unsigned DIR --signed DIR --expected N [--sample 5]

Counts the certificates in ``--signed`` (one per unsigned input, same file names, none missing or extra), then for
a sample (the first, the last, and evenly spaced ones between) checks the MerkleProof2019 proof as a verifier does
without a chain: the proof is one ``DataIntegrityProof`` with cryptosuite ``merkle-proof-2019``; its ``proofValue``
decodes (lds-merkle-proof-2019's mappings) to a path, a Merkle root, a target hash and a ``blink:mocknet:`` anchor; the
certificate without its proof, JSON-LD-normalized offline by cert-schema (its preloaded contexts; the loader would
have to fetch anything else, and there is no network), hashes (SHA-256) to the target hash; the unsigned input
hashes to the same; the path leads from the target hash to the root (blockcerts-merkletools' ``validate_proof``
and, independently, hashlib); every sampled proof names the same root, and no two the same target hash. Last, a
certificate with its learner's name changed must no longer hash to its target hash (the check can fail).

Prints one JSON object on stdout; exits 1 with the reason on stderr if any check fails.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import cbor2
import multibase
from blockcerts_merkletools import MerkleTools
from cert_schema import normalize_jsonld
from lds_merkle_proof_2019 import mappings

MOCK_ANCHOR_PREFIX = "blink:mocknet:"


class CheckFailedError(Exception):
    """A certificate cert-issuer wrote is missing or does not verify."""


def document_hash(document: dict[str, Any]) -> str:
    """SHA-256 of the URDNA2015 N-Quads of ``document`` (what cert-issuer puts in its Merkle tree)."""
    return hashlib.sha256(normalize_jsonld(copy.deepcopy(document)).encode("utf-8")).hexdigest()


def decode_anchor(items: list[list[Any]]) -> str:
    """One anchor of the CBOR map back to its ``blink:`` string (chain id, network id if the chain has networks)."""
    if not items or items[0][0] != 0:
        raise CheckFailedError(f"an anchor does not start with its chain id: {items!r}")
    chain = mappings.findChainById(items[0][1])
    if not chain:
        raise CheckFailedError(f"an anchor names an unknown chain id {items[0][1]!r}")
    parts = [chain]
    rest = items[1:]
    if "networks" in mappings.chain[chain]:
        network = mappings.findNetworkById(chain, rest[0][1]) if rest and rest[0][0] == 1 else ""
        if not network:
            raise CheckFailedError(f"an anchor on {chain} names no known network: {items!r}")
        parts.append(network)
        rest = rest[1:]
    parts.extend(cbor2.loads(value) for _, value in rest)
    return "blink:" + ":".join(parts)


def decode_proof_value(proof_value: str) -> dict[str, Any]:
    """The MerkleProof2019 ``proofValue`` (multibase base58btc of a CBOR map) as JSON, by lds-merkle-proof-2019's
    mappings. Its own ``decode`` cannot read a mockchain anchor (``chain['mocknet']`` has no ``networks``:
    KeyError), the very anchor cert-issuer writes on mockchain with its ``encode``."""
    keys = {number: name for name, number in mappings.root.items()}
    sides = {number: name for name, number in mappings.path.items()}
    decoded: dict[str, Any] = {}
    for number, value in cbor2.loads(multibase.decode(proof_value)):
        key = keys.get(number)
        if key is None:
            raise CheckFailedError(f"the proofValue has an unknown field number {number!r}")
        if key == "path":
            decoded[key] = [{sides[side]: cbor2.loads(node)} for side, node in value]
        elif key == "anchors":
            decoded[key] = [decode_anchor(anchor) for anchor in value]
        else:
            decoded[key] = cbor2.loads(value)
    return decoded


def root_from_path(target_hash: str, path: list[dict[str, str]]) -> str:
    node = bytes.fromhex(target_hash)
    for step in path:
        if set(step) == {"left"}:
            node = hashlib.sha256(bytes.fromhex(step["left"]) + node).digest()
        elif set(step) == {"right"}:
            node = hashlib.sha256(node + bytes.fromhex(step["right"])).digest()
        else:
            raise CheckFailedError(f"a Merkle path step is neither left nor right: {step!r}")
    return node.hex()


def check_certificate(signed_file: Path, unsigned_file: Path) -> dict[str, str]:
    """Check one signed certificate against its unsigned input; returns its root and target hash."""
    certificate = json.loads(signed_file.read_text(encoding="utf-8"))
    proof = certificate.get("proof")
    if not isinstance(proof, dict):
        raise CheckFailedError(f"{signed_file.name}: 'proof' is {type(proof).__name__}, not one proof object")
    if proof.get("type") != "DataIntegrityProof" or proof.get("cryptosuite") != "merkle-proof-2019":
        raise CheckFailedError(
            f"{signed_file.name}: proof type/cryptosuite {proof.get('type')!r}/{proof.get('cryptosuite')!r}, "
            "not DataIntegrityProof/merkle-proof-2019"
        )
    decoded = decode_proof_value(proof["proofValue"])
    for key in ("path", "merkleRoot", "targetHash", "anchors"):
        if key not in decoded:
            raise CheckFailedError(f"{signed_file.name}: the decoded proofValue has no {key!r}")
    target_hash, merkle_root = decoded["targetHash"], decoded["merkleRoot"]
    anchors = decoded["anchors"]
    if not anchors or not all(str(anchor).startswith(MOCK_ANCHOR_PREFIX) for anchor in anchors):
        raise CheckFailedError(f"{signed_file.name}: anchors {anchors!r} are not {MOCK_ANCHOR_PREFIX}...")

    unproven = {key: value for key, value in certificate.items() if key != "proof"}
    signed_hash = document_hash(unproven)
    if signed_hash != target_hash:
        raise CheckFailedError(
            f"{signed_file.name}: the certificate hashes to {signed_hash}, its proof says {target_hash}"
        )
    unsigned = json.loads(unsigned_file.read_text(encoding="utf-8"))
    unsigned_hash = document_hash(unsigned)
    if unsigned_hash != target_hash:
        raise CheckFailedError(f"{unsigned_file.name}: the unsigned input hashes to {unsigned_hash}, not {target_hash}")
    if not MerkleTools(hash_type="sha256").validate_proof(decoded["path"], target_hash, merkle_root):
        raise CheckFailedError(f"{signed_file.name}: blockcerts-merkletools rejects the path to {merkle_root}")
    recomputed = root_from_path(target_hash, decoded["path"])
    if recomputed != merkle_root:
        raise CheckFailedError(f"{signed_file.name}: the path leads to {recomputed}, not to the root {merkle_root}")

    tampered = copy.deepcopy(unproven)
    tampered["credentialSubject"]["name"] = tampered["credentialSubject"]["name"] + " X"
    if document_hash(tampered) == target_hash:
        raise CheckFailedError(f"{signed_file.name}: a changed learner name still hashes to the target hash")
    return {"merkle_root": merkle_root, "target_hash": target_hash}


def sample_indices(count: int, sample: int) -> list[int]:
    if count <= sample:
        return list(range(count))
    step = (count - 1) / (sample - 1)
    return sorted({round(step * position) for position in range(sample)})


def check(unsigned_dir: Path, signed_dir: Path, expected: int, sample: int) -> dict[str, Any]:
    unsigned = sorted(path.name for path in unsigned_dir.glob("*.json"))
    signed = sorted(path.name for path in signed_dir.glob("*.json"))
    if len(unsigned) != expected:
        raise CheckFailedError(f"{len(unsigned)} unsigned inputs in {unsigned_dir}, expected {expected}")
    if signed != unsigned:
        missing = sorted(set(unsigned) - set(signed))
        extra = sorted(set(signed) - set(unsigned))
        raise CheckFailedError(
            f"{len(signed)} signed certificates for {len(unsigned)} inputs; missing {missing[:5]}, extra {extra[:5]}"
        )
    roots: set[str] = set()
    targets: set[str] = set()
    indices = sample_indices(len(signed), sample)
    for index in indices:
        name = signed[index]
        result = check_certificate(signed_dir / name, unsigned_dir / name)
        roots.add(result["merkle_root"])
        targets.add(result["target_hash"])
    if len(roots) != 1:
        raise CheckFailedError(f"the sampled certificates name {len(roots)} Merkle roots, not one: {sorted(roots)}")
    if len(targets) != len(indices):
        raise CheckFailedError("two sampled certificates have the same target hash")
    return {"signed": len(signed), "checked": len(indices), "merkle_root": roots.pop()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--unsigned", type=Path, required=True)
    parser.add_argument("--signed", type=Path, required=True)
    parser.add_argument("--expected", type=int, required=True)
    parser.add_argument("--sample", type=int, default=5)
    args = parser.parse_args(argv)
    if args.sample < 2:
        parser.error(f"--sample must be at least 2 (the first and the last), got {args.sample}")
    try:
        result = check(args.unsigned, args.signed, args.expected, args.sample)
    except CheckFailedError as error:
        print(f"cert-issuer output check failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
