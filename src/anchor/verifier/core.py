"""The checks a verifier runs on a receipt; no key, no database, nothing but RPC endpoints.

In order (each passed, failed or not checked, with a reason):

1. ``receipt``: the document is strict I-JSON (duplicate keys refused: two readers must not see two
   credentials) with exactly one ``AnchorMerkleProof`` of format ``anchor-receipt-v1``.
2. ``schema``: the credential is valid ``anchor-credential-v1``, with every mandatory EU element.
3. ``integrity``: the digest recomputed from the canonical salted credential equals the proof's, and the Merkle
   proof leads from the leaf of (digest, index) to the receipt's root (offline, :mod:`anchor.merkle`).
4. ``chain``: every endpoint's ``eth_chainId`` is the receipt's chain, and the registry is a trusted one
   (configured deployments plus addresses given): anyone can deploy a look-alike registry holding the same root.
5. ``anchored``: the registry holds that root for that batch at the ``finalized`` block, in the block the
   receipt names, and every endpoint gives the same answer (a quorum of all).
6. ``issuer``: the batch was anchored by the receipt's issuer, whose registered identity (``getIssuer().uri``)
   is the credential's ``issuer.id``; the issuer is active and its key was valid when it anchored.
7. ``revocation``: neither the credential nor its batch is revoked (else the reason and time).
8. ``validity``: ``validFrom`` is not in the future and ``validUntil`` not in the past.

Checks 4-7 cost one ``eth_call`` of the registry's ``credentialStatus`` view per endpoint (plus, once per
endpoint, ``eth_chainId`` and, once per issuer, ``getIssuer``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from anchor.addresses import to_checksum_address
from anchor.chain.registry_codes import reason_name
from anchor.credentials import (
    MAX_CREDENTIAL_BYTES,
    credential_digest,
    is_expired,
    is_not_yet_valid,
    issuer_id,
    lookup,
    parse_credential,
    valid_from,
    valid_until,
    validate_credential,
)
from anchor.credentials.receipt import AnchorProof, split_receipt
from anchor.errors import CredentialValidationError, InvalidInputError, MerkleInputError, UnknownFormatError
from anchor.merkle import StandardMerkleTree
from anchor.networks import network_for_chain_id
from anchor.verifier.model import (
    CHECKS,
    Check,
    CheckState,
    CredentialSummary,
    Evidence,
    Revocation,
    Verdict,
    Verification,
    headline,
)
from anchor.verifier.onchain import (
    ChainAnswer,
    IssuerAnswer,
    NoContractError,
    Status,
    ask,
    check_address,
    registry_abi,
)
from anchor.verifier.rpc import JsonRpcEndpoint, RpcError

LEAF_ENCODING = ("bytes32", "uint256")
#: Block tag the registry is read at: a batch counts once it is final.
FINALIZED = "finalized"

ReceiptInput = Mapping[str, Any] | str | bytes | bytearray | memoryview
"""A receipt as JSON text (checked as strict I-JSON) or as an already parsed object."""

T = TypeVar("T")

#: The status word shown for a failure code, where it is not just the code in capitals.
_STATUS_WORDS = {
    "unreadable": "NOT A RECEIPT",
    "not-a-receipt": "NOT A RECEIPT",
    "unknown-format": "UNKNOWN FORMAT",
    "schema": "INCOMPLETE CREDENTIAL",
    "bad-proof": "TAMPERED",
    "no-digest": "TAMPERED",
    "unknown-batch": "NOT ANCHORED",
    "root-mismatch": "NOT ANCHORED",
    "no-contract": "NOT ANCHORED",
    "block-mismatch": "NOT ANCHORED",
    "issuer-id-mismatch": "WRONG ISSUER",
    "issuer-mismatch": "WRONG ISSUER",
    "issuer-unknown": "WRONG ISSUER",
    "issuer-inactive": "ISSUER DEACTIVATED",
    "batch-revoked": "REVOKED",
}


@dataclass(frozen=True)
class TrustedRegistry:
    """A registry the verifier trusts: its address, on one chain or (``chain_id`` None) on the endpoints' chain."""

    address: str
    chain_id: int | None = None
    source: str = "configured"
    """Where the trust comes from, shown in the reason (a deployment record, ``--registry``...)."""

    def matches(self, chain_id: int, address: str) -> bool:
        """Whether this is ``address`` on ``chain_id``."""
        return self.address.lower() == address.lower() and self.chain_id in (None, chain_id)


def trusted_from_deployments(folder: Path) -> list[TrustedRegistry]:
    """The registries recorded by ``anchor deploy`` in ``folder`` (``<chain-id>.json``, one per chain)."""
    from anchor.chain.deployments import load_deployment

    found: list[TrustedRegistry] = []
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        if path.stem.isdigit():
            deployment = load_deployment(folder, int(path.stem))
            if deployment is not None:
                found.append(TrustedRegistry(deployment.address, deployment.chain_id, f"deployments/{path.name}"))
    return found


def configured_trust(deployments_dir: Path, registry: str | None, extra: Iterable[str] = ()) -> list[TrustedRegistry]:
    """The registries a command trusts: recorded deployments, ``ANCHOR_REGISTRY`` (``registry``) and ``extra``."""
    trusted = trusted_from_deployments(deployments_dir)
    if registry:
        trusted.append(TrustedRegistry(registry, None, "ANCHOR_REGISTRY"))
    trusted.extend(TrustedRegistry(address, None, "--registry") for address in extra)
    return trusted


def _as_trusted(item: TrustedRegistry | str) -> TrustedRegistry:
    if isinstance(item, TrustedRegistry):
        return TrustedRegistry(to_checksum_address(check_address(item.address)), item.chain_id, item.source)
    return TrustedRegistry(to_checksum_address(check_address(item)), None, "given")


class Verifier:
    """Verifies receipts against ``rpc_urls`` (all must agree) and the ``trusted`` registries.

    Keeps one kept-alive connection per endpoint and thread, and caches ``eth_chainId`` and issuer records,
    so verifying many receipts costs one ``eth_call`` each. Safe to use from several threads.
    """

    def __init__(
        self,
        rpc_urls: Sequence[str],
        trusted: Iterable[TrustedRegistry | str],
        *,
        timeout: float = 10.0,
        block: str = FINALIZED,
    ) -> None:
        urls = list(dict.fromkeys(rpc_urls))
        if not urls:
            raise InvalidInputError("a verifier needs at least one RPC endpoint")
        self.endpoints = [JsonRpcEndpoint(url, timeout=timeout) for url in urls]
        self.timeout = timeout
        self.trusted = [_as_trusted(item) for item in trusted]
        self.block = block
        self._abi = registry_abi()
        self._issuers: dict[tuple[str, str, int], IssuerAnswer] = {}
        self._pool = ThreadPoolExecutor(len(self.endpoints), "rpc") if len(self.endpoints) > 1 else None

    def close(self) -> None:
        """Close connections and the endpoint thread pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
        for endpoint in self.endpoints:
            endpoint.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ entry points

    def verify(self, receipt: ReceiptInput, *, now: datetime | None = None, source: str | None = None) -> Verification:
        """Run every check on ``receipt`` (JSON text or a parsed object) and return the verdict."""
        return _Run(self, now or datetime.now(UTC), source).run(receipt)

    def verify_file(self, path: str | os.PathLike[str], *, now: datetime | None = None) -> Verification:
        """Verify the receipt in file ``path`` (at most 1 MiB); an unreadable file is an ERROR result."""
        name = str(path)
        try:
            with open(path, "rb") as stream:
                data = stream.read(MAX_CREDENTIAL_BYTES + 1)
        except OSError as error:
            return _Run(self, now or datetime.now(UTC), name).unusable(
                f"cannot read {name}: {error.strerror or error}", "unreadable"
            )
        return self.verify(data, now=now, source=name)

    def verify_many(
        self,
        items: Iterable[T],
        verify_one: Callable[[T], Verification] | None = None,
        *,
        workers: int = 8,
    ) -> Iterable[Verification]:
        """Verify ``items`` (paths by default) with ``workers`` threads; results come in input order."""
        function: Callable[[Any], Verification] = verify_one or self.verify_file
        if workers <= 1:
            yield from map(function, items)
            return
        with ThreadPoolExecutor(workers, "verify") as pool:
            yield from pool.map(function, items)

    # ------------------------------------------------------------------ helpers for _Run

    def trust_of(self, chain_id: int, address: str) -> TrustedRegistry | None:
        """The trust entry for ``address`` on ``chain_id``, if any."""
        return next((item for item in self.trusted if item.matches(chain_id, address)), None)

    def each_endpoint(self, function: Callable[[JsonRpcEndpoint], T]) -> list[T | RpcError]:
        """``function`` of every endpoint (in parallel when there are several); RpcErrors returned in place."""

        def guarded(endpoint: JsonRpcEndpoint) -> T | RpcError:
            try:
                return function(endpoint)
            except RpcError as error:
                return error

        if self._pool is None:
            return [guarded(endpoint) for endpoint in self.endpoints]
        return list(self._pool.map(guarded, self.endpoints))

    def ask(self, endpoint: JsonRpcEndpoint, proof: AnchorProof) -> ChainAnswer:
        """The registry's answer about ``proof`` from ``endpoint``."""
        return ask(
            endpoint,
            self._abi,
            proof.registry,
            batch_id=proof.batch_id,
            index=proof.index,
            digest=proof.digest,
            proof=proof.merkle_proof,
            issuer_id=proof.issuer_id,
            block=self.block,
            issuer_cache=self._issuers,
        )


def verify(
    receipt: ReceiptInput,
    *,
    rpc_urls: Sequence[str],
    trusted_registries: Iterable[TrustedRegistry | str],
    now: datetime | None = None,
    timeout: float = 10.0,
) -> Verification:
    """Verify one receipt against ``rpc_urls`` (all must agree) and the ``trusted_registries``.

    A trusted registry is a :class:`TrustedRegistry` or a bare address (trusted on the endpoints' chain).
    ``now`` (default: the current time) is the moment the validity period is checked at.
    """
    with Verifier(rpc_urls, trusted_registries, timeout=timeout) as verifier:
        return verifier.verify(receipt, now=now)


class _Run:
    """One verification: the checks filled in as they run."""

    def __init__(self, verifier: Verifier, now: datetime, source: str | None) -> None:
        if now.tzinfo is None:
            raise InvalidInputError("the time to verify at needs a timezone")
        self.verifier = verifier
        self.now = now
        self.source = source
        self.checks: dict[str, Check] = {
            name: Check(name, CheckState.NOT_CHECKED, "not checked", "not-checked") for name, _ in CHECKS
        }
        self.error: str | None = None
        self.evidence: Evidence | None = None
        self.summary: CredentialSummary | None = None

    def passed(self, name: str, reason: str) -> None:
        self.checks[name] = Check(name, CheckState.PASSED, reason)

    def failed(self, name: str, code: str, reason: str) -> None:
        self.checks[name] = Check(name, CheckState.FAILED, reason, code)

    def skipped(self, names: Iterable[str], reason: str, code: str = "not-checked") -> None:
        for name in names:
            self.checks[name] = Check(name, CheckState.NOT_CHECKED, reason, code)

    # ------------------------------------------------------------------ the checks

    def unusable(self, reason: str, code: str) -> Verification:
        self.failed("receipt", code, reason)
        self.skipped([name for name, _ in CHECKS[1:]], "not checked: the input is not a usable receipt")
        return self.result()

    def run(self, receipt: ReceiptInput) -> Verification:
        # 1. receipt
        if isinstance(receipt, str | bytes | bytearray | memoryview):
            try:
                document: Any = parse_credential(receipt)
            except InvalidInputError as error:
                return self.unusable(f"not a readable JSON receipt: {error}", "unreadable")
        elif isinstance(receipt, Mapping):
            document = dict(receipt)
        else:
            return self.unusable(f"a receipt is a JSON object, not {type(receipt).__name__}", "not-a-receipt")
        try:
            credential, proof = split_receipt(document)
        except UnknownFormatError as error:
            return self.unusable(str(error), "unknown-format")
        except InvalidInputError as error:
            return self.unusable(str(error), "not-a-receipt")
        self.passed("receipt", f"anchor-receipt-v1 proof for batch {proof.batch_id}, index {proof.index}")
        self.summary = summarize(credential)
        self.evidence = self._claimed_evidence(proof)

        # 2. schema
        try:
            validate_credential(credential)
        except CredentialValidationError as error:
            shown = "; ".join(str(problem) for problem in error.problems[:4])
            more = f" (and {len(error.problems) - 4} more)" if len(error.problems) > 4 else ""
            count = len(error.problems)
            self.failed("schema", "schema", f"{count} problem{'s' if count != 1 else ''}: {shown}{more}")
        except InvalidInputError as error:
            self.failed("schema", "schema", str(error))
        else:
            self.passed("schema", "valid anchor-credential-v1 with every mandatory EU micro-credential element")

        # 3. integrity (offline)
        intact = self._integrity(credential, proof)

        # 8. validity (offline; shown last)
        self._validity(credential)

        # 4. chain and trust
        if not self._chain(proof):
            return self.result()
        if not intact:
            self.skipped(["anchored", "issuer", "revocation"], "not asked: the credential does not match its proof")
            return self.result()

        # 5-7. the registry's answer
        self._registry(credential, proof)
        return self.result()

    def _integrity(self, credential: dict[str, Any], proof: AnchorProof) -> bool:
        try:
            digest = "0x" + credential_digest(credential).hex()
        except InvalidInputError as error:
            self.failed("integrity", "no-digest", f"the credential cannot be hashed: {_one_line(error)}")
            return False
        if digest != proof.digest:
            self.failed(
                "integrity",
                "tampered",
                f"the credential hashes to {_short(digest)}, but the receipt was issued for {_short(proof.digest)}: "
                "the credential or its salt was changed",
            )
            return False
        try:
            leads = StandardMerkleTree.verify(proof.root, LEAF_ENCODING, (digest, proof.index), proof.merkle_proof)
        except MerkleInputError as error:
            self.failed("integrity", "bad-proof", f"the Merkle proof is unusable: {error}")
            return False
        if not leads:
            self.failed(
                "integrity",
                "bad-proof",
                f"the Merkle proof does not lead from the leaf of (digest, index {proof.index}) to the root "
                f"{_short(proof.root)}: the proof, the index or the root was changed",
            )
            return False
        self.passed(
            "integrity",
            f"digest {_short(digest)} recomputed from the canonical credential and its salt; the Merkle proof "
            f"({len(proof.merkle_proof)} steps) leads from (digest, index {proof.index}) to root {_short(proof.root)}",
        )
        return True

    def _validity(self, credential: dict[str, Any]) -> None:
        try:
            start = valid_from(credential)
            end = valid_until(credential)
            future = is_not_yet_valid(credential, self.now)
            expired = is_expired(credential, self.now)
        except InvalidInputError as error:
            self.skipped(["validity"], f"not checked: the validity dates are unreadable ({_one_line(error)})")
            return
        if future:
            self.failed("validity", "not-yet-valid", f"issued for {_day(start)}, which is still in the future")
        elif expired:
            self.failed("validity", "expired", f"expired on {_day(end)}")
        elif end is None:
            self.passed("validity", f"valid from {_day(start)}, does not expire")
        else:
            self.passed("validity", f"valid from {_day(start)} until {_day(end)}")

    def _chain(self, proof: AnchorProof) -> bool:
        verifier = self.verifier
        ids = verifier.each_endpoint(lambda endpoint: endpoint.chain_id())
        errors = [
            (endpoint, found)
            for endpoint, found in zip(verifier.endpoints, ids, strict=True)
            if isinstance(found, RpcError)
        ]
        later = ["anchored", "issuer", "revocation"]
        if errors:
            self.error = "; ".join(str(error) for _, error in errors)
            self.skipped(["chain", *later], f"could not ask the RPC endpoint: {self.error}", "rpc-unreachable")
            return False
        wanted = proof.chain_id
        network = network_for_chain_id(wanted)
        named = f"chain {wanted}" + (f" ({network.name})" if network else "")
        wrong = [
            f"{endpoint.shown_url} is chain {found}"
            for endpoint, found in zip(verifier.endpoints, ids, strict=True)
            if found != wanted
        ]
        if wrong:
            self.failed("chain", "wrong-chain", f"the receipt is for {named}, but {', '.join(wrong)}")
            self.skipped(later, "not asked: the endpoints are not on the receipt's chain")
            return False
        trust = verifier.trust_of(wanted, proof.registry)
        if trust is None:
            known = ", ".join(sorted({item.address for item in verifier.trusted if item.chain_id in (None, wanted)}))
            self.failed(
                "chain",
                "untrusted-registry",
                f"registry {proof.registry} is not a trusted registry on {named} "
                f"(trusted: {known or 'none configured'}); anyone can deploy a look-alike registry holding the "
                "same root",
            )
            self.skipped(later, "not asked: the registry is not trusted")
            return False
        count = len(verifier.endpoints)
        endpoints = "the RPC endpoint" if count == 1 else f"all {count} RPC endpoints"
        self.passed("chain", f"{endpoints} on {named}; registry {proof.registry} trusted ({trust.source})")
        return True

    def _registry(self, credential: dict[str, Any], proof: AnchorProof) -> None:
        verifier = self.verifier
        answers = verifier.each_endpoint(lambda endpoint: verifier.ask(endpoint, proof))
        later = ["anchored", "issuer", "revocation"]
        no_contract = [answer for answer in answers if isinstance(answer, NoContractError)]
        if no_contract and len(no_contract) == len(answers):
            self.failed("anchored", "no-contract", f"registry {proof.registry}: {no_contract[0]}")
            self.skipped(later[1:], "not asked: the registry did not answer")
            return
        if no_contract and all(isinstance(answer, ChainAnswer | NoContractError) for answer in answers):
            said = "; ".join(
                f"{endpoint.shown_url}: {'no registry there' if isinstance(answer, NoContractError) else 'a registry'}"
                for endpoint, answer in zip(verifier.endpoints, answers, strict=True)
            )
            self.failed("anchored", "endpoints-disagree", f"the RPC endpoints disagree, so none is believed: {said}")
            self.skipped(later[1:], "not decided: the RPC endpoints disagree")
            return
        errors = [answer for answer in answers if isinstance(answer, RpcError)]
        if errors:
            self.error = "; ".join(str(error) for error in errors)
            self.skipped(later, f"could not ask the registry: {self.error}", "rpc-unreachable")
            return
        agreed: list[ChainAnswer] = [answer for answer in answers if isinstance(answer, ChainAnswer)]
        if any(answer != agreed[0] for answer in agreed[1:]):
            said = "; ".join(
                f"{endpoint.shown_url}: {_describe(answer)}"
                for endpoint, answer in zip(verifier.endpoints, agreed, strict=True)
            )
            self.failed("anchored", "endpoints-disagree", f"the RPC endpoints disagree, so none is believed: {said}")
            self.skipped(later[1:], "not decided: the RPC endpoints disagree")
            return
        self._interpret(credential, proof, agreed[0])

    def _interpret(self, credential: dict[str, Any], proof: AnchorProof, answer: ChainAnswer) -> None:
        status = answer.status
        batch = f"batch {proof.batch_id}"
        code = status.status
        if code is Status.UNKNOWN_BATCH:
            latest = answer.latest
            if latest is not None and latest.status is not Status.UNKNOWN_BATCH:
                self.failed(
                    "anchored",
                    "not-final",
                    f"{batch} was anchored in block {latest.anchored_at_block}, but the finalized block is only "
                    f"{answer.finalized_block}: not final yet, verify again in a few minutes",
                )
            else:
                self.failed("anchored", "unknown-batch", f"the registry holds no {batch}")
            self.skipped(["issuer", "revocation"], "not asked: the batch is not anchored (final)")
            return
        if code is Status.BAD_PROOF:
            self.failed(
                "anchored",
                "root-mismatch",
                f"{batch} of the registry does not hold this credential: its root is not {_short(proof.root)} "
                f"or index {proof.index} is outside the batch",
            )
            self.skipped(["issuer", "revocation"], "not asked: the batch does not hold the credential")
            return
        anchored_at = datetime.fromtimestamp(status.anchored_at, UTC)
        self._onchain_evidence(answer, anchored_at)
        if status.anchored_at_block != proof.block_number:
            self.failed(
                "anchored",
                "block-mismatch",
                f"{batch} was anchored in block {status.anchored_at_block}, but the receipt says block "
                f"{proof.block_number}",
            )
        else:
            self.passed(
                "anchored",
                f"{batch} holds root {_short(proof.root)}, anchored in block {status.anchored_at_block} on "
                f"{_moment(anchored_at)}, final",
            )
        self._issuer(credential, proof, answer)
        self._revocation(answer)

    def _issuer(self, credential: dict[str, Any], proof: AnchorProof, answer: ChainAnswer) -> None:
        status = answer.status
        info = answer.issuer
        if status.issuer_id != proof.issuer_id:
            self.failed(
                "issuer",
                "issuer-id-mismatch",
                f"the receipt names issuer {proof.issuer_id}, but batch {proof.batch_id} was anchored by issuer "
                f"{status.issuer_id}",
            )
            return
        if info is None:
            self.failed("issuer", "issuer-unknown", f"the registry has no issuer {proof.issuer_id}")
            return
        registered = f"issuer {info.issuer_id}, {info.name} ({info.country}), registered as {info.uri}"
        try:
            claimed = issuer_id(credential)
        except InvalidInputError:
            claimed = None
        if claimed != info.uri:
            self.failed(
                "issuer",
                "issuer-mismatch",
                f"the credential names {claimed!r} as its issuer, but {registered} anchored it",
            )
        elif status.status is Status.ISSUER_INACTIVE:
            self.failed(
                "issuer",
                "issuer-inactive",
                f"{registered} has been deactivated by the registry admin: none of its credentials verify",
            )
        elif status.status is Status.SIGNER_REMOVED:
            self.failed(
                "issuer",
                "signer-removed",
                f"the key that anchored batch {proof.batch_id} for {registered} had been removed before it anchored",
            )
        else:
            self.passed("issuer", f"anchored by {registered}, the credential's issuer; its key was valid then")

    def _revocation(self, answer: ChainAnswer) -> None:
        status = answer.status
        code = status.status
        if code is Status.BATCH_REVOKED:
            revoked_at = datetime.fromtimestamp(status.batch_revoked_at, UTC)
            reason = reason_name(status.batch_revocation_reason)
            self._revoked(Revocation("batch", status.batch_revocation_reason, reason, revoked_at))
            self.failed(
                "revocation", "batch-revoked", f"the whole batch was revoked on {_moment(revoked_at)}, reason: {reason}"
            )
        elif code is Status.REVOKED:
            event = answer.revocation
            if event is None:
                why = answer.revocation_error or "the revocation event was not found"
                self.failed("revocation", "revoked", f"revoked by its issuer (reason and time unknown: {why})")
                return
            when = datetime.fromtimestamp(event.timestamp, UTC) if event.timestamp is not None else None
            reason = reason_name(event.reason_code)
            self._revoked(Revocation("credential", event.reason_code, reason, when, event.block_number))
            on = f" on {_moment(when)}" if when else ""
            self.failed(
                "revocation", "revoked", f"revoked by its issuer{on} (block {event.block_number}), reason: {reason}"
            )
        elif code is Status.VALID:
            self.passed("revocation", "neither the credential nor its batch is revoked")
        else:
            self.skipped(["revocation"], "not known: the registry stops at the failed issuer check")

    # ------------------------------------------------------------------ evidence and result

    def _claimed_evidence(self, proof: AnchorProof) -> Evidence:
        network = network_for_chain_id(proof.chain_id)
        explorer = network.explorer_url if network else ""
        return Evidence(
            chain_id=proof.chain_id,
            network=network.name if network else None,
            registry=proof.registry,
            batch_id=proof.batch_id,
            index=proof.index,
            issuer_id=proof.issuer_id,
            root=proof.root,
            digest=proof.digest,
            transaction_hash=proof.transaction_hash,
            block_number=proof.block_number,
            anchored_at=proof.anchored_at,
            explorer_tx=f"{explorer}/tx/{proof.transaction_hash}" if explorer else None,
            explorer_registry=f"{explorer}/address/{proof.registry}" if explorer else None,
            explorer_block=f"{explorer}/block/{proof.block_number}" if explorer else None,
            endpoints=tuple(endpoint.shown_url for endpoint in self.verifier.endpoints),
        )

    def _onchain_evidence(self, answer: ChainAnswer, anchored_at: datetime) -> None:
        if self.evidence is None:
            return
        info = answer.issuer
        self.evidence = _replace(
            self.evidence,
            issuer_name=info.name if info else None,
            issuer_uri=info.uri if info else None,
            issuer_country=info.country if info else None,
            anchored_at_block_onchain=answer.status.anchored_at_block,
            anchored_at_onchain=anchored_at,
        )

    def _revoked(self, revocation: Revocation) -> None:
        if self.evidence is not None:
            self.evidence = _replace(self.evidence, revocation=revocation)

    def result(self) -> Verification:
        checks = tuple(self.checks[name] for name, _ in CHECKS)
        first = headline(checks)
        if self.checks["receipt"].state is CheckState.FAILED:
            verdict = Verdict.ERROR
        elif first is not None:
            verdict = Verdict.INVALID
        elif self.error is not None or any(check.state is not CheckState.PASSED for check in checks):
            verdict = Verdict.ERROR
        else:
            verdict = Verdict.VALID
        if verdict is Verdict.VALID:
            status, summary = "VALID", "every check passed"
        elif first is not None:
            status = _STATUS_WORDS.get(first.code, first.code.upper().replace("-", " "))
            summary = first.reason[:1].upper() + first.reason[1:]
        else:
            status = "RPC UNREACHABLE" if self.error else "NOT VERIFIED"
            summary = self.error or "not every check could run"
        return Verification(
            checks=checks,
            verdict=verdict,
            status=status,
            summary=summary,
            checked_at=self.now,
            source=self.source,
            evidence=self.evidence,
            credential=self.summary,
        )


def _describe(answer: ChainAnswer) -> str:
    status = answer.status
    text = f"{status.status.name} (issuer {status.issuer_id}, block {status.anchored_at_block}"
    if answer.issuer is not None:
        text += f", issuer uri {answer.issuer.uri}"
    if answer.revocation is not None:
        text += f", revoked in block {answer.revocation.block_number}"
    return text + ")"


def _replace(evidence: Evidence, **changes: Any) -> Evidence:
    return replace(evidence, **changes)


def _short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}" if len(value) > 16 else value


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _day(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def _moment(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def summarize(credential: Mapping[str, Any]) -> CredentialSummary:
    """What a person reads on ``credential``; missing fields are None (nothing here raises)."""

    def get(*path: str | int) -> Any:
        return lookup(credential, path)

    def text(*path: str | int) -> str | None:
        value = get(*path)
        return value if isinstance(value, str) else None

    learner = None
    identifiers = get("credentialSubject", "identifier")
    for item in identifiers if isinstance(identifiers, list) else []:
        if isinstance(item, Mapping) and item.get("identityType") == "name" and item.get("hashed") is False:
            learner = item.get("identityHash") if isinstance(item.get("identityHash"), str) else None
            break
    achievement = ("credentialSubject", "achievement")
    eu = (*achievement, "euMicroCredential")
    outcomes = get(*eu, "learningOutcomes")
    ects = get(*achievement, "creditsAvailable")
    eqf = get(*eu, "eqfLevel")
    methods = get(*eu, "assessment", "methods")
    assessment = ", ".join(str(item) for item in methods) if isinstance(methods, list) else None
    note = text(*eu, "assessment", "description")
    if note:
        assessment = f"{assessment}: {note}" if assessment else note
    qa_body = text(*eu, "qualityAssurance", "body")
    qa = text(*eu, "qualityAssurance", "description")
    return CredentialSummary(
        credential_id=text("id"),
        learner=learner,
        title=text(*achievement, "name") or text("name"),
        description=text(*achievement, "description"),
        awarding_body=text("issuer", "name"),
        awarding_body_id=text("issuer", "id"),
        country=text("issuer", "address", "addressCountryCode"),
        ects=float(ects) if isinstance(ects, int | float) and not isinstance(ects, bool) else None,
        eqf_level=eqf if isinstance(eqf, int) and not isinstance(eqf, bool) else None,
        learning_outcomes=tuple(str(item) for item in outcomes) if isinstance(outcomes, list) else (),
        grade=text("credentialSubject", "result", 0, "value"),
        valid_from=text("validFrom"),
        valid_until=text("validUntil"),
        participation=text(*eu, "participation"),
        assessment=assessment,
        quality_assurance=" ".join(part for part in (qa, f"({qa_body})" if qa_body else None) if part) or None,
        language=text(*achievement, "inLanguage"),
    )
