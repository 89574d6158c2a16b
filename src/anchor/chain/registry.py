"""A typed wrapper over the CredentialRegistry contract: deploy, govern, anchor, revoke, read status.

Every refusal by the contract comes back as a :class:`ContractRevertError` whose message is a readable
sentence built from the decoded custom error.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractCustomError, ContractLogicError, Web3Exception
from web3.logs import DISCARD
from web3.types import BlockIdentifier, TxReceipt

from anchor.addresses import checked_address, is_address, to_checksum_address
from anchor.chain.artifacts import load_artifact
from anchor.chain.connection import Chain, build_transaction, send_and_wait
from anchor.chain.contract_errors import DecodedError, ErrorDecoder
from anchor.chain.deployments import Deployment, load_deployment, record_new_deployment, refuse_redeployment
from anchor.chain.registry_abi import ARTIFACT, CredentialCheck, CredentialStatus, IssuerInfo
from anchor.errors import ChainError, ContractRevertError, DeploymentError, InvalidInputError

#: An unsent call of a registry function, for :class:`anchor.chain.transactions.Sender`.
RegistryCall = ContractFunction


@dataclass(frozen=True)
class SignerInfo:
    """A signer key's record; ``issuer_id`` 0 means the key was never registered."""

    address: str
    issuer_id: int
    added_at: int
    removed_at: int
    removed_at_block: int

    @property
    def active(self) -> bool:
        """Whether the key may anchor and revoke now."""
        return self.issuer_id != 0 and self.removed_at == 0


@dataclass(frozen=True)
class BatchInfo:
    """An anchored batch."""

    batch_id: int
    root: str
    issuer_id: int
    size: int
    anchored_at: int
    anchored_at_block: int
    signer: str
    revoked_at: int
    revocation_reason: int


#: The registry functions that govern it (admin or issuer management), as ``Registry.govern`` sends them.
GOVERNANCE_FUNCTIONS: frozenset[str] = frozenset(
    {
        "addSigner",
        "removeSigner",
        "deactivateIssuer",
        "reactivateIssuer",
        "pause",
        "unpause",
        "beginDefaultAdminTransfer",
        "acceptDefaultAdminTransfer",
    }
)


@dataclass(frozen=True)
class AdminStatus:
    """The registry's governance state."""

    admin: str
    delay: int
    pending_admin: str | None
    #: Time from which the pending admin may accept (0: no transfer pending).
    pending_from: int
    paused: bool


_SENTENCES: dict[str, str] = {
    "CredentialRegistryNotSigner": "{account} is not an active signer key of any issuer",
    "CredentialRegistryWrongIssuer": (
        "{account} signs for issuer {callerIssuerId}, but this belongs to issuer {issuerId}: "
        "an issuer can only act on its own keys and batches"
    ),
    "CredentialRegistryUnknownIssuer": "there is no issuer with id {issuerId}",
    "CredentialRegistryIssuerInactive": "issuer {issuerId} is deactivated",
    "CredentialRegistryIssuerActive": "issuer {issuerId} is active already",
    "CredentialRegistryInvalidIssuerMetadata": "an issuer needs a non-empty name and URI",
    "CredentialRegistryInvalidCountry": "{country} is not an ISO 3166-1 alpha-2 country code (two capitals)",
    "CredentialRegistryDuplicateIssuerUri": (
        "issuer {issuerId} is registered with the identifier {uri} already; an identifier belongs to one issuer"
    ),
    "CredentialRegistryInvalidSigner": "{signer} cannot be a signer",
    "CredentialRegistrySignerExists": (
        "{signer} is or was a signer of issuer {issuerId} already; a key is never registered twice, use a new key"
    ),
    "CredentialRegistrySignerNotActive": "{signer} is not an active signer (never added, or removed already)",
    "CredentialRegistryTooManySigners": (
        "issuer {issuerId} has {limit} active signer keys, the most it may have: remove one before adding another"
    ),
    "CredentialRegistryZeroRoot": "a batch root cannot be zero",
    "CredentialRegistryInvalidSize": "a batch size of {size} is not allowed (1 to 2**64-1)",
    "CredentialRegistryDuplicateRoot": "issuer {issuerId} anchored root {root} already, as batch {batchId}",
    "CredentialRegistryUnknownBatch": "there is no batch {batchId}",
    "CredentialRegistryIndexOutOfRange": "index {index} is outside batch {batchId}, which holds {size} credentials",
    "CredentialRegistryNoIndices": "no credential indices were given to revoke",
    "CredentialRegistryInvalidReason": "revocation reason code {reason} is not allowed (1..255)",
    "CredentialRegistryAlreadyRevoked": "credential {index} of batch {batchId} is revoked already",
    "CredentialRegistryBatchAlreadyRevoked": "batch {batchId} is revoked already",
    "AccessControlUnauthorizedAccount": "{account} is not the registry admin",
    "AccessControlEnforcedDefaultAdminDelay": "the admin transfer can only be accepted after time {schedule}",
    "AccessControlInvalidDefaultAdmin": "{defaultAdmin} is not the pending admin",
    "AccessControlEnforcedDefaultAdminRules": "the admin role only changes through a delayed transfer",
    "EnforcedPause": "the registry is paused: anchoring is stopped until the admin unpauses it",
    "ExpectedPause": "the registry is not paused",
}


def explain(error: DecodedError) -> str:
    """A readable sentence for a decoded registry error."""
    shown = {key: _show(value) for key, value in error.args.items()}
    template = _SENTENCES.get(error.name)
    if template is None:
        return f"the registry refused: {error}"
    try:
        return template.format(**shown) + f" ({error.name})"
    except (KeyError, IndexError):
        return f"the registry refused: {error}"


def describe(call: RegistryCall) -> str:
    """An unsent call as a person reads it before signing: ``anchor(root=0x1f…, size=1000)``."""
    inputs = call.abi.get("inputs", [])
    shown = ", ".join(f"{item['name']}={_show_argument(value)}" for item, value in zip(inputs, call.args, strict=False))
    return f"{call.fn_name}({shown})"


#: A list argument longer than this is shown by its first items and its length.
_SHOWN_ITEMS = 8


def _show_argument(value: Any) -> str:
    if isinstance(value, list | tuple):
        shown = [_show_argument(one) for one in value[:_SHOWN_ITEMS]]
        if len(value) > _SHOWN_ITEMS:
            shown.append(f"… {len(value)} in all")
        return "[" + ", ".join(shown) + "]"
    if isinstance(value, bytes) and len(value) == 2 and value.isascii():
        return repr(value.decode("ascii"))
    return repr(value) if isinstance(value, str) and not value.startswith("0x") else _show(value)


def _show(value: Any) -> str:
    if isinstance(value, str) and is_address(value):
        return str(to_checksum_address(value))
    if isinstance(value, bytes):
        if len(value) == 2 and value.isascii():
            return repr(value.decode("ascii", "replace"))
        return "0x" + value.hex()
    return str(value)


class Registry:
    """The CredentialRegistry at ``address`` on ``chain``."""

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = cast(ChecksumAddress, checked_address(address))
        abi = load_artifact(ARTIFACT)["abi"]
        self.contract: Contract = chain.w3.eth.contract(address=self.address, abi=abi)
        self.decoder = ErrorDecoder(abi)

    @classmethod
    def at(cls, chain: Chain, address: str) -> Registry:
        """The registry at ``address``, after checking that a contract is deployed there."""
        registry = cls(chain, address)
        if not chain.w3.eth.get_code(registry.address):
            raise DeploymentError(f"no contract at {registry.address} on chain {chain.chain_id}")
        return registry

    @classmethod
    def deploy(
        cls,
        chain: Chain,
        account: LocalAccount,
        admin: str,
        admin_delay: int,
        *,
        max_fee_ceiling_wei: int | None = None,
    ) -> tuple[Registry, TxReceipt]:
        """Deploy a new registry from the committed artifact; return it and the deployment receipt."""
        artifact = load_artifact(ARTIFACT)
        factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        constructor = factory.constructor(admin_delay, to_checksum_address(admin))
        with _explained(ErrorDecoder(artifact["abi"])):
            tx = build_transaction(chain, account, constructor, max_fee_ceiling_wei=max_fee_ceiling_wei)  # type: ignore[arg-type]
            receipt = send_and_wait(chain, account, tx)
        return cls(chain, str(receipt["contractAddress"])), receipt

    @classmethod
    def deploy_and_record(
        cls,
        chain: Chain,
        account: LocalAccount,
        admin: str,
        admin_delay: int,
        deployments_dir: Path,
        *,
        force: bool = False,
        max_fee_ceiling_wei: int | None = None,
    ) -> tuple[Registry, TxReceipt, Path]:
        """Deploy a registry and record it as the one of its chain; refuse to replace one unless ``force``."""
        refuse_redeployment(deployments_dir, chain.chain_id, force)
        registry, receipt = cls.deploy(chain, account, admin, admin_delay, max_fee_ceiling_wei=max_fee_ceiling_wei)
        path = record_new_deployment(
            deployments_dir,
            chain_id=chain.chain_id,
            address=registry.address,
            block=int(receipt["blockNumber"]),
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            deployer=account.address,
            admin=to_checksum_address(admin),
            admin_delay=admin_delay,
            network=chain.network.name,
        )
        return registry, receipt, path

    @classmethod
    def recorded(cls, chain: Chain, deployments_dir: Path) -> tuple[Registry, Deployment] | None:
        """The registry recorded for ``chain`` and its record, if one is recorded and its code is on the chain."""
        deployment = load_deployment(deployments_dir, chain.chain_id)
        if deployment is None or not chain.w3.eth.get_code(
            cast(ChecksumAddress, to_checksum_address(deployment.address))
        ):
            return None
        return cls(chain, deployment.address), deployment

    # ------------------------------------------------------------ transactions

    def transact(
        self, account: LocalAccount, call: ContractFunction, *, max_fee_ceiling_wei: int | None = None
    ) -> TxReceipt:
        """Send ``call`` from ``account`` and wait for its receipt; refusals become readable errors."""
        with _explained(self.decoder):
            tx = build_transaction(self.chain, account, call, max_fee_ceiling_wei=max_fee_ceiling_wei)
            return send_and_wait(self.chain, account, tx)

    def register_issuer(
        self, account: LocalAccount, name: str, country: str, uri: str, signers: Sequence[str]
    ) -> tuple[int, TxReceipt]:
        """Register an issuer; return its id and the receipt."""
        receipt = self.transact(account, self.register_issuer_call(name, country, uri, signers))
        return self.registered_issuer_id(receipt), receipt

    def register_issuer_call(self, name: str, country: str, uri: str, signers: Sequence[str]) -> RegistryCall:
        """The unsent ``registerIssuer`` call (``country``: an ISO 3166-1 alpha-2 code such as DE)."""
        code = country.encode("ascii", "replace")
        if len(code) != 2:
            raise InvalidInputError(f"country {country!r} must be an ISO 3166-1 alpha-2 code such as DE")
        return self.contract.functions.registerIssuer(name, code, uri, [to_checksum_address(s) for s in signers])

    def registered_issuer_id(self, receipt: TxReceipt) -> int:
        """The id of the issuer that the ``IssuerRegistered`` event in ``receipt`` announces."""
        events = self.contract.events.IssuerRegistered().process_receipt(receipt, errors=DISCARD)
        if len(events) != 1:
            raise ChainError(f"transaction {receipt['transactionHash'].to_0x_hex()} registered {len(events)} issuers")
        return int(events[0]["args"]["issuerId"])

    def anchor(self, account: LocalAccount, root: str | bytes, size: int) -> tuple[int, TxReceipt]:
        """Anchor a batch root; return the batch id and the receipt."""
        receipt = self.transact(account, self.contract.functions.anchor(root, size))
        (event,) = self.contract.events.BatchAnchored().process_receipt(receipt, errors=DISCARD)
        return int(event["args"]["batchId"]), receipt

    def govern(
        self, account: LocalAccount, function: str, *args: Any, max_fee_ceiling_wei: int | None = None
    ) -> TxReceipt:
        """Send governance ``function(*args)`` (one of :data:`GOVERNANCE_FUNCTIONS`) and wait for its receipt."""
        return self.transact(account, self.governance_call(function, *args), max_fee_ceiling_wei=max_fee_ceiling_wei)

    def governance_call(self, function: str, *args: Any) -> RegistryCall:
        """The unsent governance call ``function(*args)``, one of :data:`GOVERNANCE_FUNCTIONS`."""
        if function not in GOVERNANCE_FUNCTIONS:
            raise InvalidInputError(f"{function!r} is not a governance function of the registry")
        return cast(RegistryCall, getattr(self.contract.functions, function)(*args))

    def admin_status(self) -> AdminStatus:
        """Who governs the registry, a pending admin transfer, and whether anchoring is paused."""
        functions = self.contract.functions
        pending, schedule = self._call(functions.pendingDefaultAdmin())
        return AdminStatus(
            admin=str(self._call(functions.defaultAdmin())),
            delay=int(self._call(functions.defaultAdminDelay())),
            pending_admin=str(pending) if schedule else None,
            pending_from=int(schedule),
            paused=bool(self._call(functions.paused())),
        )

    def anchor_call(self, root: str | bytes, size: int) -> RegistryCall:
        """The unsent ``anchor(root, size)`` call, for a durable sender that signs and journals it."""
        return self.contract.functions.anchor(root, size)

    def revoke_call(self, batch_id: int, indices: Sequence[int], reason: int) -> RegistryCall:
        """The unsent revocation of ``indices`` of ``batch_id`` (none: the whole batch)."""
        functions = self.contract.functions
        if indices:
            return functions.revokeCredentials(batch_id, list(indices), reason)
        return functions.revokeBatch(batch_id, reason)

    def calldata(self, call: RegistryCall) -> str:
        """The ABI-encoded input of an unsent call, for a framework's account that signs and sends it (ape, brownie)."""
        return str(self.contract.encode_abi(call.abi_element_identifier, args=call.args, kwargs=call.kwargs))

    @staticmethod
    def deployment_data(chain: Chain, admin: str, admin_delay: int) -> str:
        """The committed artifact's creation code with its constructor arguments, for a framework's account."""
        artifact = load_artifact(ARTIFACT)
        factory = chain.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        return str(factory.constructor(admin_delay, to_checksum_address(admin)).data_in_transaction)

    @staticmethod
    def refusal(data: bytes | str) -> ContractRevertError:
        """The readable error for revert ``data`` that a framework caught (ape, brownie), deployment included."""
        decoder = ErrorDecoder(load_artifact(ARTIFACT)["abi"])
        return _refusal(decoder, data, f"the registry refused (revert data {_show(data)})")

    def simulate(self, call: RegistryCall, sender: str) -> None:
        """Run ``call`` as ``sender`` without sending it: a refusal is raised as a readable error."""
        with _explained(self.decoder):
            call.estimate_gas({"from": sender})

    def anchored_batch_id(self, receipt: TxReceipt, root: str, issuer_id: int) -> int:
        """The batch id that the ``BatchAnchored`` event in ``receipt`` gives ``root`` of ``issuer_id``."""
        for event in self.contract.events.BatchAnchored().process_receipt(receipt, errors=DISCARD):
            args = event["args"]
            if "0x" + bytes(args["root"]).hex() == root.lower() and int(args["issuerId"]) == issuer_id:
                return int(args["batchId"])
        raise ChainError(
            f"transaction {receipt['transactionHash'].to_0x_hex()} holds no BatchAnchored event for root {root}"
        )

    def anchoring_transaction(self, batch_id: int, block: int) -> TxReceipt:
        """The receipt of the transaction that anchored ``batch_id`` in ``block`` (from its event)."""
        logs = self.contract.events.BatchAnchored().get_logs(
            from_block=block, to_block=block, argument_filters={"batchId": batch_id}
        )
        if not logs:
            raise ChainError(f"batch {batch_id} is on chain but its BatchAnchored event was not found in block {block}")
        try:
            return self.chain.w3.eth.get_transaction_receipt(logs[0]["transactionHash"])
        except Web3Exception as error:
            raise ChainError(f"RPC call failed: {error}") from error

    # ------------------------------------------------------------ reads

    def issuer(self, issuer_id: int) -> IssuerInfo:
        """The issuer record ``issuer_id``."""
        name, country, uri, registered, deactivated, signers = self._call(self.contract.functions.getIssuer(issuer_id))
        return IssuerInfo(issuer_id, name, country.decode("ascii", "replace"), uri, registered, deactivated, signers)

    def issuers(self) -> Iterator[IssuerInfo]:
        """Every registered issuer, by id."""
        for issuer_id in range(1, self.issuer_count() + 1):
            yield self.issuer(issuer_id)

    def issuer_count(self) -> int:
        """Number of registered issuers."""
        return int(self._call(self.contract.functions.issuerCount()))

    def batch_count(self) -> int:
        """Number of anchored batches."""
        return int(self._call(self.contract.functions.batchCount()))

    def signer(self, address: str) -> SignerInfo:
        """The record of signer key ``address``."""
        checksum = to_checksum_address(address)
        issuer_id, added, removed, removed_block = self._call(self.contract.functions.getSigner(checksum))
        return SignerInfo(checksum, issuer_id, added, removed, removed_block)

    def signers_of(self, issuer_id: int) -> list[SignerInfo]:
        """Every key ever added to ``issuer_id`` (active or removed), from the SignerAdded events."""
        events = self.contract.events.SignerAdded().get_logs(from_block=0, argument_filters={"issuerId": issuer_id})
        return [self.signer(event["args"]["signer"]) for event in events]

    def batch(self, batch_id: int) -> BatchInfo:
        """The batch record ``batch_id``."""
        root, issuer_id, size, at, block, signer, revoked_at, reason = self._call(
            self.contract.functions.getBatch(batch_id)
        )
        return BatchInfo(batch_id, "0x" + root.hex(), issuer_id, size, at, block, signer, revoked_at, reason)

    def batch_id_of(self, issuer_id: int, root: str | bytes) -> int:
        """The id under which ``issuer_id`` anchored ``root``, 0 if it did not."""
        return int(self._call(self.contract.functions.batchIdOf(issuer_id, root)))

    def issuer_id_of(self, uri: str) -> int:
        """The issuer registered with identifier ``uri`` (compared byte for byte), 0 if none is."""
        return int(self._call(self.contract.functions.issuerIdOf(uri)))

    def credential_status(
        self,
        batch_id: int,
        index: int,
        digest: str | bytes,
        proof: Sequence[str | bytes],
        block: BlockIdentifier = "latest",
    ) -> CredentialCheck:
        """The registry's verdict on one credential (one ``eth_call``)."""
        call = self.contract.functions.credentialStatus(batch_id, index, digest, list(proof))
        status, issuer_id, at, at_block, revoked_at, reason = self._call(call, block)
        return CredentialCheck(CredentialStatus(status), issuer_id, at, at_block, revoked_at, reason)

    def explained(self) -> AbstractContextManager[None]:
        """A context in which the registry's reverts become readable :class:`ContractRevertError`."""
        return _explained(self.decoder)

    def _call(self, call: ContractFunction, block: BlockIdentifier = "latest") -> Any:
        with _explained(self.decoder):
            return call.call(block_identifier=block)


@contextmanager
def _explained(decoder: ErrorDecoder) -> Iterator[None]:
    """Turn web3's revert exceptions into ContractRevertError with a readable sentence."""
    try:
        yield
    except (ContractCustomError, ContractLogicError) as error:
        data = error.data if isinstance(error.data, str) else ""
        raise _refusal(decoder, data, f"the registry refused: {error}") from None
    except Web3Exception as error:
        raise ChainError(f"RPC call failed: {error}") from error


def _refusal(decoder: ErrorDecoder, data: bytes | str, fallback: str) -> ContractRevertError:
    """The sentence for revert ``data`` (a custom error of the registry), else ``fallback``."""
    try:
        decoded = decoder.decode(data) if data else None
    except ValueError:  # not hex
        decoded = None
    if decoded is None:
        return ContractRevertError(fallback)
    return ContractRevertError(explain(decoded), decoded.name, decoded.args)
