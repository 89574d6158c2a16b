"""The registry's lifecycle for a framework's accounts (ape, brownie), framework-neutral, on anchor's library.

An :class:`Operator` holds the registry on the framework's connected chain. Each operation is a
:class:`Transaction` (what it does in words, where it goes, its calldata) built by
:class:`anchor.chain.registry.Registry`, the one way to the contract; :meth:`Operator.send` prints it, hands it
to the framework's account to sign and send, then prints what was mined. Before anything is signed:

- a development account (its private key is public) is refused on a public chain (Polygon Amoy, Polygon PoS,
  any chain that is not a known local one);
- a batch to anchor must be one built by ``anchor``: a ``built`` batch of the issuer database for this chain
  and registry, or a ``standard-v1`` tree dump of anchor's leaves ``(bytes32 digest, uint256 index)`` in which
  every credential sits at its own index (the binding that makes per-credential revocation unforgeable).

Contract refusals become sentences (:meth:`Operator.refusal`, :func:`anchor.chain.registry.explain`);
deployments are recorded under ``ANCHOR_HOME/deployments``, where the ``anchor`` CLI finds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import cast

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.types import TxReceipt

from anchor.addresses import checked_address, to_checksum_address
from anchor.chain.artifacts import load_artifact
from anchor.chain.connection import Chain, gas_and_fee, mined_receipt
from anchor.chain.deployments import record_new_deployment, refuse_redeployment, registry_address
from anchor.chain.keys import development_accounts
from anchor.chain.registry import Registry, RegistryCall, describe
from anchor.chain.registry_abi import ARTIFACT, REVOCATION_REASONS
from anchor.config import Settings, load_settings
from anchor.credentials.receipt import LEAF_ENCODING
from anchor.errors import ContractRevertError, DeploymentError, InvalidInputError, InvariantError, SigningKeyError
from anchor.issuing.revocation import indices_by_batch, plan_revocations
from anchor.issuing.store import Store
from anchor.merkle import StandardMerkleTree
from anchor.networks import Network, is_public_chain, network_for_chain_id

#: What a framework's account does with a transaction: sign it, send it, return its hash (0x-hex).
SignAndSend = Callable[["Transaction"], str]


@dataclass(frozen=True)
class Transaction:
    """One registry operation, ready for a framework's account to sign."""

    #: The call as a person reads it: ``anchor(root=0x…, size=1000)``.
    description: str
    #: The registry; None for the deployment, which creates it.
    to: str | None
    #: 0x-hex calldata (for the deployment: creation code and constructor arguments).
    data: str
    #: The registry call it encodes (None for the deployment), for :meth:`Operator.simulate`.
    call: RegistryCall | None = None


@dataclass(frozen=True)
class AnchorableBatch:
    """A batch built by ``anchor``, checked, ready to anchor: its root and size, and where it came from."""

    root: str
    size: int
    #: ``batch 3 of the issuer database`` or ``tree dump FILE``.
    source: str
    #: The key the batch was built for (issuer database batches), whose issuer must be the sender's.
    built_for: str | None = None


class Operator:
    """The registry on a framework's connected chain, as one account operates it."""

    def __init__(
        self,
        w3: Web3,
        network_name: str,
        *,
        settings: Settings | None = None,
        echo: Callable[[str], None] = print,
    ) -> None:
        """``w3``: the framework's connection; ``network_name``: its name there (shown, and recorded)."""
        chain_id = int(w3.eth.chain_id)
        known = network_for_chain_id(chain_id)
        network = known or Network(
            name=network_name,
            chain_ids=(chain_id,),
            default_rpc_url="",
            public=is_public_chain(chain_id),
            min_priority_fee_wei=0,
            explorer_url="",
        )
        self.chain = Chain(w3=w3, network=network, chain_id=chain_id, rpc_url=network_name)
        self.network_name = network_name
        self.settings = settings or load_settings()
        self.echo = echo

    @cached_property
    def registry(self) -> Registry:
        """The registry recorded for this chain under ANCHOR_HOME (or named by ANCHOR_REGISTRY)."""
        address = registry_address(self.settings.deployments_dir, self.chain.chain_id, self.settings.registry)
        return Registry.at(self.chain, address)

    # ------------------------------------------------------------ accounts

    def check_account(self, address: str, *, development: bool = False) -> None:
        """Refuse a development account on a public chain; ``development``: the framework knows it is one.

        The well-known accounts (anvil's, hardhat's, ape's and brownie's test mnemonic) are refused by
        address; a framework's test account of another index by ``development``.
        """
        if not is_public_chain(self.chain.chain_id):
            return
        known = {account.address for account in development_accounts()}
        if development or to_checksum_address(address) in known:
            raise SigningKeyError(
                f"refusing to sign on chain {self.chain.chain_id} ({self.network_name}) with development account "
                f"{to_checksum_address(address)}: its private key is public. Use an account of your own "
                "(ape: `ape accounts import NAME`; brownie: `brownie accounts new NAME`)"
            )

    # ------------------------------------------------------------ sending

    def send(self, transaction: Transaction, sender: str, sign_and_send: SignAndSend) -> TxReceipt:
        """Print ``transaction``, have the account sign and send it, wait for it, print what was mined."""
        target = transaction.to or "a new CredentialRegistry"
        self.echo(f"transaction: {transaction.description}")
        where = f"on chain {self.chain.chain_id} ({self.network_name})"
        self.echo(f"  from {to_checksum_address(sender)} to {target} {where}")
        receipt = mined_receipt(self.chain, sign_and_send(transaction))
        self.echo(self.summary(receipt))
        return receipt

    def simulate(self, transaction: Transaction, sender: str) -> None:
        """Run ``transaction`` as ``sender`` without sending it: a refusal is raised as the registry's sentence.

        For frameworks whose own revert errors carry no readable reason (brownie); ape's carry the revert data.
        """
        if transaction.call is not None:
            self.registry.simulate(transaction.call, to_checksum_address(sender))

    def summary(self, receipt: TxReceipt) -> str:
        """One line about a mined transaction: hash, block, gas, fee, explorer link."""
        tx_hash = receipt["transactionHash"].to_0x_hex()
        gas_used, fee_wei = gas_and_fee(receipt)
        fee = f"{fee_wei / 10**18:.6f} {self.chain.network.currency}"
        line = f"  mined: tx {tx_hash} in block {receipt['blockNumber']}, gas {gas_used:,}, fee {fee}"
        link = self.chain.network.explorer_tx(tx_hash)
        return f"{line} ({link})" if link else line

    @staticmethod
    def refusal(data: bytes | str) -> ContractRevertError:
        """The readable error for revert ``data`` a framework caught from the registry (or its deployment)."""
        return Registry.refusal(data)

    # ------------------------------------------------------------ operations

    def deployment(self, admin: str, admin_delay: int, *, force: bool = False) -> Transaction:
        """Deploy the committed artifact (refused over a recorded registry unless ``force``)."""
        if admin_delay < 0 or admin_delay >= 2**48:
            raise InvalidInputError(f"--admin-delay {admin_delay} is not a number of seconds below 2**48")
        refuse_redeployment(self.settings.deployments_dir, self.chain.chain_id, force)
        admin = checked_address(admin)
        return Transaction(
            f"deploy CredentialRegistry(adminTransferDelay={admin_delay}, initialAdmin={admin})",
            None,
            Registry.deployment_data(self.chain, admin, admin_delay),
        )

    def record_deployment(self, receipt: TxReceipt, deployer: str, admin: str, admin_delay: int) -> Path:
        """Record the registry that ``receipt`` created, after checking its code is the committed artifact's."""
        address = receipt.get("contractAddress")
        if not address:
            raise DeploymentError(f"transaction {receipt['transactionHash'].to_0x_hex()} created no contract")
        return self.record_registry(str(address), receipt, deployer, admin, admin_delay)

    def record_registry(self, address: str, receipt: TxReceipt, deployer: str, admin: str, admin_delay: int) -> Path:
        """Record the registry at ``address`` (deployed by ``receipt``) as this chain's, if its code is anchor's."""
        code = self.chain.w3.eth.get_code(cast(ChecksumAddress, to_checksum_address(address)))
        if "0x" + bytes(code).hex() != load_artifact(ARTIFACT)["deployedBytecode"].lower():
            raise DeploymentError(
                f"the code at {address} is not the committed CredentialRegistry artifact's: not recorded "
                "(compile with the project's settings: `anchor build --check`)"
            )
        return record_new_deployment(
            self.settings.deployments_dir,
            chain_id=self.chain.chain_id,
            address=to_checksum_address(address),
            block=int(receipt["blockNumber"]),
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            deployer=to_checksum_address(deployer),
            admin=to_checksum_address(admin),
            admin_delay=admin_delay,
            network=self.chain.network.name,
        )

    def registration(self, name: str, country: str, uri: str, signers: Sequence[str]) -> Transaction:
        """Register an issuer with its signer keys (admin only)."""
        return self._transaction(self.registry.register_issuer_call(name, country.upper(), uri, signers))

    def governance(self, function: str, *args: object) -> Transaction:
        """A governance call: signers, issuer state, pausing, admin transfer."""
        return self._transaction(self.registry.governance_call(function, *args))

    def anchoring(self, batch: AnchorableBatch, sender: str) -> Transaction:
        """Anchor ``batch``'s root; a batch of the issuer database only under the issuer it was built for."""
        if batch.built_for is not None:
            sender_issuer = self.registry.signer(sender).issuer_id
            built_issuer = self.registry.signer(batch.built_for).issuer_id
            if sender_issuer and sender_issuer != built_issuer:
                raise InvalidInputError(
                    f"{batch.source} was built for key {batch.built_for} of issuer {built_issuer}, but "
                    f"{to_checksum_address(sender)} signs for issuer {sender_issuer}: anchor it with a key of "
                    f"issuer {built_issuer}"
                )
        return self._transaction(self.registry.anchor_call(batch.root, batch.size))

    def revocations(self, batch_id: int, indices: Sequence[int], reason: str) -> list[Transaction]:
        """Revoke credentials of a batch (split under the gas budget), or the whole batch when ``indices`` is empty."""
        code = reason_code(reason)
        if not indices:
            return [self._transaction(self.registry.revoke_call(batch_id, [], code))]
        chunks = plan_revocations(indices)
        return [self._transaction(self.registry.revoke_call(batch_id, chunk, code)) for chunk in chunks]

    def receipts_to_revoke(self, paths: Sequence[Path]) -> dict[int, list[int]]:
        """The credentials that receipt files name, by on-chain batch; each must be of this chain's registry."""
        return indices_by_batch(paths, self.chain.chain_id, self.registry.address)

    # ------------------------------------------------------------ results

    def registered_issuer(self, receipt: TxReceipt) -> int:
        """The id of the issuer ``receipt`` registered."""
        return self.registry.registered_issuer_id(receipt)

    def anchored_batch(self, receipt: TxReceipt, batch: AnchorableBatch, sender: str) -> int:
        """The on-chain id ``receipt`` gave ``batch``."""
        return self.registry.anchored_batch_id(receipt, batch.root, self.registry.signer(sender).issuer_id)

    def _transaction(self, call: RegistryCall) -> Transaction:
        return Transaction(describe(call), self.registry.address, self.registry.calldata(call), call)


def reason_code(reason: str) -> int:
    """A revocation reason in words (``fraud``), as its code."""
    try:
        return REVOCATION_REASONS[reason]
    except KeyError:
        known = ", ".join(REVOCATION_REASONS)
        raise InvalidInputError(f"unknown revocation reason {reason!r}: choose one of {known}") from None


# ---------------------------------------------------------------------------------------------- batches


def batch_from_dump(path: Path) -> AnchorableBatch:
    """A batch from a ``standard-v1`` tree dump of anchor's credential leaves, checked in full."""
    source = f"tree dump {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"{source}: cannot read it: {error}") from error
    tree = _anchor_tree(text, source)
    return AnchorableBatch(tree.root, len(tree), source)


def batch_from_store(settings: Settings, batch_id: int, chain_id: int, registry: str) -> AnchorableBatch:
    """A ``built`` batch of the issuer database for this chain and registry, its stored tree checked."""
    source = f"batch {batch_id} of the issuer database"
    with Store.open(settings) as store:
        record = store.get_batch(batch_id)
        if record.chain_id != chain_id or record.registry.lower() != registry.lower():
            raise InvalidInputError(
                f"{source} was built for registry {record.registry} on chain {record.chain_id}, "
                f"not for {registry} on chain {chain_id}"
            )
        if record.state != "built":
            done = {
                "anchored": f"anchored already, as on-chain batch {record.onchain_batch_id} (tx {record.tx_hash})",
                "signed": "signed by `anchor batch run` already: run it again to finish the batch",
                "sent": "sent by `anchor batch run` already: run it again to finish the batch",
            }
            raise InvalidInputError(f"{source} is {done.get(record.state, record.state)}")
        tree = _anchor_tree(store.tree_dump(batch_id), source)
    if tree.root != record.root.lower() or len(tree) != record.size:
        raise InvariantError(
            f"{source}: its stored tree has root {tree.root} and {len(tree)} credentials, the batch "
            f"{record.root} and {record.size}"
        )
    return AnchorableBatch(tree.root, len(tree), source, to_checksum_address(record.signer))


def _anchor_tree(text: str, source: str) -> StandardMerkleTree:
    """The tree of a dump, checked to be one of anchor's batches: credential leaves, each at its own index."""
    try:
        tree = StandardMerkleTree.load(json.loads(text))
    except json.JSONDecodeError as error:
        raise InvalidInputError(f"{source}: not JSON: {error}") from error
    except InvalidInputError as error:
        raise InvalidInputError(f"{source}: {error}") from error
    if tuple(tree.leaf_encoding) != LEAF_ENCODING:
        raise InvalidInputError(
            f"{source}: its leaves are {list(tree.leaf_encoding)}, not anchor's credential leaves {list(LEAF_ENCODING)}"
        )
    for position, (_, index) in tree:
        if index != position:
            raise InvalidInputError(
                f"{source}: value {position} carries index {index!r}; in anchor's batches each credential carries "
                "its own position, which its revocation bit is keyed by"
            )
    return tree
