"""The checks a verifier runs on a receipt; no key, no database, nothing but RPC endpoints.

In order (each passed, failed or not checked, with a reason):

1. ``receipt``: the document is strict I-JSON (duplicate keys refused: two readers must not see two
   credentials) with exactly one ``AnchorMerkleProof`` of format ``anchor-receipt-v1``.
2. ``schema``: the credential is valid ``anchor-credential-v1``, with every mandatory EU element.
3. ``integrity``: the digest recomputed from the canonical salted credential equals the proof's, and the Merkle
   proof leads from the leaf of (digest, index) to the receipt's root (offline, :mod:`anchor.merkle`).
   ``signature`` (shown here, decided last): the issuer's Data Integrity proof of an ``anchor-credential-v2``
   credential, by a key its DID document lists under ``assertionMethod``, the DID being the credential's
   ``issuer.id`` and the one the registry records for the batch's issuer (:mod:`anchor.verifier.signature`);
   ``anchor-credential-v1`` credentials predate signatures (not applicable).
4. ``chain``: every endpoint's ``eth_chainId`` is the receipt's chain, and the registry is a trusted one
   (configured deployments plus addresses given): anyone can deploy a look-alike registry holding the same root.
5. ``anchored``: the registry holds that root for that batch at the ``finalized`` block, in the block and at
   the time the receipt names, by the transaction it names (the batch's ``BatchAnchored`` event in that
   block), and every endpoint gives the same answers (a quorum of all).
6. ``issuer``: the batch was anchored by the receipt's issuer, whose registered identity (``getIssuer().uri``)
   is the credential's ``issuer.id`` and whose registered name and country are the credential's
   ``issuer.name`` and ``issuer.address.addressCountryCode`` (compared after Unicode NFC, otherwise exactly);
   the issuer is active and its key was valid when it anchored.
7. ``revocation``: neither the credential nor its batch is revoked (else the reason and time).
8. ``validity``: ``validFrom`` is not in the future and ``validUntil`` not in the past.

Checks 4-7 cost one ``eth_call`` of the registry's ``credentialStatus`` view per endpoint (plus, once per
endpoint, ``eth_chainId``, once per issuer, ``getIssuer``, and once per batch, ``eth_getLogs`` of its block).

Why the name is compared after NFC and otherwise exactly: NFC only merges canonically equivalent sequences
(an "ä" typed precomposed or as "a" plus a combining diaeresis), which render identically and are the same
text by Unicode's definition; the registry does not normalise what the admin registered, while credential
text must be NFC. Anything looser (case, spaces, compatibility forms such as NFKC's full-width letters,
look-alike characters) would let a credential show a name that differs from the registered one, and the
issuer controls both texts, so it can always make them equal.

A presentation (``anchor present``: a v3 credential with claims withheld) runs these checks with the
differences :mod:`anchor.verifier.disclosed` describes (required elements, recomputed digest, no signature).

A :class:`Run` is one verification; the :class:`~anchor.verifier.session.Verifier` it runs for holds the
endpoints, the trusted registries and the caches, and :mod:`anchor.verifier.presentation` words the verdict.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from anchor.chain.jsonrpc import RpcError
from anchor.chain.registry_abi import CredentialCheck, CredentialStatus, NoContractError, reason_name
from anchor.credentials import (
    issuer_country,
    issuer_id,
    issuer_name,
    valid_from,
    valid_until,
    validate_credential,
)
from anchor.credentials.accessors import _aware as aware_time
from anchor.credentials.receipt import LEAF_ENCODING, AnchorProof, is_presentation
from anchor.credentials.validation import validate_parsed
from anchor.errors import CredentialValidationError, InvalidInputError, MerkleInputError, UnknownFormatError
from anchor.merkle.leaf_proof import verify_anchor_leaf
from anchor.networks import network_for_chain_id
from anchor.sharing.baking import badge_kind, unbake
from anchor.verifier.model import CHECKS, Check, CheckState, CredentialSummary, Evidence, Revocation, Verification
from anchor.verifier.onchain import AnchoringEvent, ChainAnswer, RegisteredIssuer
from anchor.verifier.presentation import conclude, summarize
from anchor.verifier.signature import check_signature

if TYPE_CHECKING:
    from anchor.verifier.session import Verifier


ReceiptInput = Mapping[str, Any] | str | bytes | bytearray | memoryview
"""A receipt as JSON text (checked as strict I-JSON) or as an already parsed object."""


#: Every check before it runs (frozen, so one set serves every verification).
_NOT_YET_CHECKED: Final = {
    name: Check(name, CheckState.NOT_CHECKED, "not checked", "not-checked") for name, _ in CHECKS
}


class Run:
    """One verification by ``verifier``: the checks filled in as they run, then the result."""

    def __init__(
        self, verifier: Verifier, now: datetime, source: str | None, require: Iterable[str] | None = None
    ) -> None:
        if now.tzinfo is None:
            raise InvalidInputError("the time to verify at needs a timezone")
        self.require = tuple(require) if require is not None else None
        """For a presentation, the paths that must be disclosed (None: the defaults of :mod:`.disclosed`)."""
        self.verifier = verifier
        self.now = now
        self.source = source
        self.checks: dict[str, Check] = dict(_NOT_YET_CHECKED)
        self.error: str | None = None
        self.evidence: Evidence | None = None
        self.summary: CredentialSummary | None = None
        self.registered: RegisteredIssuer | None = None
        """The registered issuer that anchored the receipt's batch, once the registry said so."""
        self.warnings: list[str] = []

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
        # 1. receipt (from a baked PNG or SVG badge too: the image's one credential, read strictly)
        if isinstance(receipt, bytes | bytearray | memoryview) and badge_kind(receipt) is not None:
            try:
                receipt = unbake(receipt)
            except InvalidInputError as error:
                return self.unusable(f"not a usable baked badge: {error}", "bad-badge")
        parsed = isinstance(receipt, str | bytes | bytearray | memoryview)  # so strict I-JSON, NFC: validate_parsed
        if isinstance(receipt, str | bytes | bytearray | memoryview):
            try:
                document: Any = self.verifier.parsed(receipt)
            except InvalidInputError as error:
                return self.unusable(f"not a readable JSON receipt: {error}", "unreadable")
        elif isinstance(receipt, Mapping):
            document = dict(receipt)
        else:
            return self.unusable(f"a receipt is a JSON object, not {type(receipt).__name__}", "not-a-receipt")
        if is_presentation(document):  # a v3 credential with claims withheld
            from anchor.verifier.disclosed import verify_presentation  # presentations only (start-up time)

            return verify_presentation(self, document, self.require)
        try:
            credential, proof = self.verifier.split(document)
        except UnknownFormatError as error:
            return self.unusable(str(error), "unknown-format")
        except InvalidInputError as error:
            return self.unusable(str(error), "not-a-receipt")
        self.passed("receipt", f"{proof.receipt_format} proof for batch {proof.batch_id}, index {proof.index}")
        self.summary = summarize(credential)
        self.evidence = self._claimed_evidence(proof)

        # 2. schema
        try:
            if parsed:  # the text it was parsed from shows at C speed that it holds no control character
                validate_parsed(credential, text=receipt if isinstance(receipt, bytes) else None)
            else:
                validate_credential(credential)
        except CredentialValidationError as error:
            shown = "; ".join(str(problem) for problem in error.problems[:4])
            more = f" (and {len(error.problems) - 4} more)" if len(error.problems) > 4 else ""
            count = len(error.problems)
            self.failed("schema", "schema", f"{count} problem{'s' if count != 1 else ''}: {shown}{more}")
        except InvalidInputError as error:
            self.failed("schema", "schema", str(error))
        else:
            self.passed(
                "schema", f"valid {credential.get('anchorFormat')} with every mandatory EU micro-credential element"
            )

        # 3. integrity (offline)
        intact = self._integrity(credential, proof)

        # 8. validity (offline; shown last)
        self._validity(credential)

        # 4. chain and trust
        if self._chain(proof):
            if intact:  # 5-7. the registry's answer
                self._registry(credential, proof)
            else:
                self.skipped(["anchored", "issuer", "revocation"], "not asked: the credential does not match its proof")

        # signature: decided last, once the registry has said which DID the batch's issuer has
        self._signature(credential)
        # the status list, when given or fetched: a warning if it disagrees with the chain, never the verdict
        self.warnings += self.verifier.status_list_warnings(credential, self.checks)
        return self.result()

    def _signature(self, credential: dict[str, Any]) -> None:
        registered = self.registered.uri if self.registered is not None else None
        outcome = check_signature(credential, self.verifier.dids, registered)
        self.checks["signature"] = Check("signature", outcome.state, outcome.reason, outcome.code)

    def _integrity(self, credential: dict[str, Any], proof: AnchorProof) -> bool:
        try:
            digest = "0x" + self.verifier.credential_digest(credential).hex()
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
        if not self.proof_leads_to_root(digest, proof):
            return False
        self.passed(
            "integrity",
            f"digest {_short(digest)} recomputed from the canonical credential and its salt; the Merkle proof "
            f"({len(proof.merkle_proof)} steps) leads from (digest, index {proof.index}) to root {_short(proof.root)}",
        )
        return True

    def proof_leads_to_root(self, digest: str, proof: AnchorProof) -> bool:
        """Whether the Merkle proof leads from the leaf of ``(digest, index)`` to the root; else the integrity
        check fails, saying why."""
        try:
            leads = verify_anchor_leaf(proof.root, LEAF_ENCODING, (digest, proof.index), proof.merkle_proof)
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
        return leads

    def _validity(self, credential: dict[str, Any]) -> None:
        try:  # is_not_yet_valid and is_expired, each date read once
            start = valid_from(credential)
            end = valid_until(credential)
            at = aware_time(self.now)
            future = at < start
            expired = end is not None and at > end
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
        if self.evidence is not None:
            self.evidence = self.evidence.but(trust_source=trust.source)
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
            self._endpoints_disagree(
                ["no registry there" if isinstance(answer, NoContractError) else "a registry" for answer in answers],
                later[1:],
            )
            return
        errors = [answer for answer in answers if isinstance(answer, RpcError)]
        if errors:
            self.error = "; ".join(str(error) for error in errors)
            self.skipped(later, f"could not ask the registry: {self.error}", "rpc-unreachable")
            return
        agreed: list[ChainAnswer] = [answer for answer in answers if isinstance(answer, ChainAnswer)]
        if any(answer != agreed[0] for answer in agreed[1:]):
            self._endpoints_disagree([_describe(answer) for answer in agreed], later[1:])
            return
        self._interpret(credential, proof, agreed[0])

    def _endpoints_disagree(self, answers: list[str], undecided: list[str]) -> None:
        """Fail the anchoring check because the endpoints answered differently (``answers``, one each)."""
        said = "; ".join(
            f"{endpoint.shown_url}: {answer}" for endpoint, answer in zip(self.verifier.endpoints, answers, strict=True)
        )
        self.failed("anchored", "endpoints-disagree", f"the RPC endpoints disagree, so none is believed: {said}")
        self.skipped(undecided, "not decided: the RPC endpoints disagree")

    def _interpret(self, credential: dict[str, Any], proof: AnchorProof, answer: ChainAnswer) -> None:
        status = answer.status
        batch = f"batch {proof.batch_id}"
        code = status.status
        if code is CredentialStatus.UNKNOWN_BATCH:
            latest = answer.latest
            if latest is not None and latest.status is not CredentialStatus.UNKNOWN_BATCH:
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
        if code is CredentialStatus.BAD_PROOF:
            self.failed(
                "anchored",
                "root-mismatch",
                f"{batch} of the registry does not hold this credential: its root is not {_short(proof.root)} "
                f"or index {proof.index} is outside the batch",
            )
            self.skipped(["issuer", "revocation"], "not asked: the batch does not hold the credential")
            return
        anchored_at = datetime.fromtimestamp(status.anchored_at, UTC)
        decided, event = self._anchoring(proof, status)
        self._onchain_evidence(answer, anchored_at, event)
        if decided:
            self._anchored(proof, status, anchored_at, event)
        self._issuer(credential, proof, answer)
        self._revocation(answer)

    def _anchoring(self, proof: AnchorProof, status: CredentialCheck) -> tuple[bool, AnchoringEvent | None]:
        """Whether the endpoints agreed on the batch's ``BatchAnchored`` event, and that event (None: none found).

        When one endpoint could not be asked or they disagree, the ``anchored`` check says so here.
        """
        verifier = self.verifier
        events = verifier.each_endpoint(lambda endpoint: verifier.anchoring(endpoint, proof, status))
        errors = [event for event in events if isinstance(event, RpcError)]
        if errors:
            self.error = "; ".join(str(error) for error in errors)
            self.skipped(["anchored"], f"could not read the anchoring event: {self.error}", "rpc-unreachable")
            return False, None
        agreed = [event for event in events if not isinstance(event, RpcError)]
        if any(event != agreed[0] for event in agreed[1:]):
            said = "; ".join(
                f"{endpoint.shown_url}: {'no event' if event is None else 'transaction ' + event.transaction_hash}"
                for endpoint, event in zip(verifier.endpoints, agreed, strict=True)
            )
            self.failed(
                "anchored",
                "endpoints-disagree",
                f"the RPC endpoints disagree on the transaction that anchored batch {proof.batch_id}, so none is "
                f"believed: {said}",
            )
            return False, None
        return True, agreed[0]

    def _anchored(
        self, proof: AnchorProof, status: CredentialCheck, anchored_at: datetime, event: AnchoringEvent | None
    ) -> None:
        """The ``anchored`` check: the receipt's block, transaction and time are the chain's."""
        batch = f"batch {proof.batch_id}"
        block = status.anchored_at_block
        problems: list[tuple[str, str]] = []
        if block != proof.block_number:
            problems.append(
                (
                    "block-mismatch",
                    f"{batch} was anchored in block {block}, but the receipt says block {proof.block_number}",
                )
            )
        if event is None:
            problems.append(
                (
                    "anchoring-unconfirmed",
                    f"block {block} holds no BatchAnchored event of {batch}, so the transaction that anchored it "
                    "cannot be confirmed",
                )
            )
        elif event.transaction_hash != proof.transaction_hash:
            problems.append(
                (
                    "transaction-mismatch",
                    f"{batch} was anchored by transaction {_short(event.transaction_hash)}, but the receipt names "
                    f"transaction {_short(proof.transaction_hash)}",
                )
            )
        if proof.anchored_at != anchored_at:
            problems.append(
                (
                    "anchored-at-mismatch",
                    f"{batch} was anchored on {_moment(anchored_at)}, but the receipt says "
                    f"{_moment(proof.anchored_at)}",
                )
            )
        if problems:
            self.failed("anchored", problems[0][0], "; ".join(reason for _, reason in problems))
            return
        assert event is not None
        self.passed(
            "anchored",
            f"{batch} holds root {_short(proof.root)}, anchored in block {block} by transaction "
            f"{_short(event.transaction_hash)} on {_moment(anchored_at)}, final",
        )

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
        self.registered = info
        registered = f"issuer {info.issuer_id}, {info.name!r} ({info.country}), registered as {info.uri}"
        claimed = _claimed(issuer_id, credential)
        if claimed != info.uri:
            self.failed(
                "issuer",
                "issuer-mismatch",
                f"the credential names {claimed!r} as its issuer, but {registered} anchored it",
            )
        elif (mismatch := _identity_mismatch(credential, info)) is not None:
            code, what, value = mismatch
            self.failed("issuer", code, f"the credential gives its issuer's {what} as {value!r}, but {registered}")
        elif status.status is CredentialStatus.ISSUER_INACTIVE:
            self.failed(
                "issuer",
                "issuer-inactive",
                f"{registered} has been deactivated by the registry admin: none of its credentials verify",
            )
        else:
            self.passed("issuer", f"anchored by {registered}, the credential's issuer; its key was valid then")

    def _revocation(self, answer: ChainAnswer) -> None:
        status = answer.status
        code = status.status
        if code is CredentialStatus.BATCH_REVOKED:
            revoked_at = datetime.fromtimestamp(status.batch_revoked_at, UTC)
            reason = reason_name(status.batch_revocation_reason)
            self._revoked(Revocation("batch", status.batch_revocation_reason, reason, revoked_at))
            self.failed(
                "revocation", "batch-revoked", f"the whole batch was revoked on {_moment(revoked_at)}, reason: {reason}"
            )
        elif code is CredentialStatus.REVOKED:
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
        elif code is CredentialStatus.VALID:
            self.passed("revocation", "neither the credential nor its batch is revoked")
        else:
            self.skipped(["revocation"], "not known: the registry stops at the failed issuer check")

    # ------------------------------------------------------------------ evidence and result

    def _claimed_evidence(self, proof: AnchorProof) -> Evidence:
        network = network_for_chain_id(proof.chain_id)
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
            explorer_tx=network.explorer_tx(proof.transaction_hash) if network else None,
            explorer_registry=network.explorer_address(proof.registry) if network else None,
            explorer_block=network.explorer_block(proof.block_number) if network else None,
            endpoints=tuple(endpoint.shown_url for endpoint in self.verifier.endpoints),
        )

    def _onchain_evidence(self, answer: ChainAnswer, anchored_at: datetime, event: AnchoringEvent | None) -> None:
        """What the endpoints agreed on; the issuer only if it is the one that anchored the batch."""
        if self.evidence is None:
            return
        status = answer.status
        info = answer.issuer if answer.issuer is not None and answer.issuer.issuer_id == status.issuer_id else None
        network = network_for_chain_id(self.evidence.chain_id)
        transaction = event.transaction_hash if event is not None else None
        self.evidence = self.evidence.but(
            issuer_name=info.name if info else None,
            issuer_uri=info.uri if info else None,
            issuer_country=info.country if info else None,
            anchored_at_block_onchain=status.anchored_at_block,
            anchored_at_onchain=anchored_at,
            transaction_hash_onchain=transaction,
            explorer_tx=network.explorer_tx(transaction) if network and transaction else None,
            explorer_block=network.explorer_block(status.anchored_at_block) if network else None,
        )

    def _revoked(self, revocation: Revocation) -> None:
        if self.evidence is not None:
            self.evidence = self.evidence.but(revocation=revocation)

    def result(self) -> Verification:
        checks = tuple(self.checks[name] for name, _ in CHECKS)
        verdict, status, summary = conclude(checks, self.error)
        return Verification(
            checks=checks,
            verdict=verdict,
            status=status,
            summary=summary,
            checked_at=self.now,
            source=self.source,
            evidence=self.evidence,
            credential=self.summary,
            warnings=tuple(self.warnings),
        )


def _describe(answer: ChainAnswer) -> str:
    status = answer.status
    text = f"{status.status.name} (issuer {status.issuer_id}, block {status.anchored_at_block}"
    if answer.issuer is not None:
        text += f", issuer uri {answer.issuer.uri}"
    if answer.revocation is not None:
        text += f", revoked in block {answer.revocation.block_number}"
    return text + ")"


def _claimed(read: Callable[[Mapping[str, Any]], str], credential: dict[str, Any]) -> str | None:
    """The credential's field read by accessor ``read``, or None when it is missing or not a string."""
    try:
        value = read(credential)
    except InvalidInputError:
        return None
    return value if isinstance(value, str) else None


def _identity_mismatch(credential: dict[str, Any], info: RegisteredIssuer) -> tuple[str, str, str | None] | None:
    """(code, what, claimed value) for the credential's issuer name or country that is not the registered one."""
    name = _claimed(issuer_name, credential)
    if name is None or unicodedata.normalize("NFC", name) != unicodedata.normalize("NFC", info.name):
        return "issuer-name-mismatch", "name", name
    country = _claimed(issuer_country, credential)
    if country != info.country:
        return "issuer-country-mismatch", "country", country
    return None


def _short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}" if len(value) > 16 else value


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _day(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d")


def _moment(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    try:
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError):  # a claimed time at the edge of the calendar
        return moment.isoformat()
