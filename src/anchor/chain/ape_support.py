"""Glue for the operator scripts in ``scripts/`` run with ``ape run NAME``.

The scripts use ape's accounts (keyfiles, hardware wallets, multisig plugins) and network names, and this
module's helpers for everything else: the committed artifact, deployment records, development-key refusal and
readable contract errors, the same code the ``anchor`` CLI runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from ape import chain
from ape.api import AccountAPI, ReceiptAPI
from ape.contracts import ContractContainer, ContractInstance
from ape.exceptions import CustomError
from ethpm_types import ContractType

from anchor.chain.artifacts import load_artifact
from anchor.chain.contract_errors import DecodedError
from anchor.chain.deployments import record_new_deployment, refuse_redeployment, registry_address
from anchor.chain.keys import development_accounts
from anchor.chain.registry import explain
from anchor.chain.registry_abi import ARTIFACT
from anchor.config import Settings, load_settings
from anchor.errors import AnchorError, ContractRevertError, SigningKeyError
from anchor.networks import is_public_chain, network_for_chain_id


def settings() -> Settings:
    """anchor's configuration (ANCHOR_HOME, ANCHOR_REGISTRY...), as the CLI reads it."""
    return load_settings()


def registry_container() -> ContractContainer:
    """The registry as an ape contract container, built from the committed artifact (no compiler)."""
    artifact = load_artifact(ARTIFACT)
    contract_type = ContractType.model_validate(
        {
            "contractName": artifact["contractName"],
            "sourceId": artifact["sourceName"],
            "abi": artifact["abi"],
            "deploymentBytecode": {"bytecode": artifact["bytecode"]},
            "runtimeBytecode": {"bytecode": artifact["deployedBytecode"]},
        }
    )
    return ContractContainer(contract_type)


def check_account(account: AccountAPI) -> None:
    """Refuse the well-known development accounts on public chains."""
    chain_id = int(chain.chain_id)
    known = {dev.address for dev in development_accounts()}
    if is_public_chain(chain_id) and account.address in known:
        raise SigningKeyError(f"refusing to sign on chain {chain_id} with development key {account.address}")


def deploy_registry(account: AccountAPI, admin: str, admin_delay: int, *, force: bool = False) -> ContractInstance:
    """Deploy the registry and record the deployment under ANCHOR_HOME/deployments/<chain-id>.json."""
    check_account(account)
    config = settings()
    chain_id = int(chain.chain_id)
    refuse_redeployment(config.deployments_dir, chain_id, force)
    instance = account.deploy(registry_container(), admin_delay, admin)
    receipt: ReceiptAPI = instance.creation_metadata.receipt
    known = network_for_chain_id(chain_id)
    record_new_deployment(
        config.deployments_dir,
        chain_id=chain_id,
        address=str(instance.address),
        block=int(receipt.block_number),
        tx_hash=str(receipt.txn_hash),
        deployer=str(account.address),
        admin=admin,
        admin_delay=admin_delay,
        network=known.name if known else f"ape:{chain.provider.network.name}",
    )
    return instance


def recorded_registry() -> ContractInstance:
    """The registry recorded (or named by ANCHOR_REGISTRY) for the connected chain."""
    config = settings()
    address = registry_address(config.deployments_dir, int(chain.chain_id), config.registry)
    return registry_container().at(address)


def transact(account: AccountAPI, function: str, *args: Any) -> ReceiptAPI:
    """Call registry ``function`` from ``account``; a refusal becomes a readable ContractRevertError."""
    check_account(account)
    registry = recorded_registry()
    try:
        receipt: ReceiptAPI = getattr(registry, function)(*args, sender=account)
    except CustomError as error:  # ape decoded one of the registry's custom errors
        decoded = DecodedError(error.abi.name, dict(error.inputs))
        raise ContractRevertError(explain(decoded), decoded.name, decoded.args) from None
    return receipt


@contextmanager
def reported_errors() -> Iterator[None]:
    """Show anchor's errors as one clean line (ape prints a ClickException without a traceback)."""
    try:
        yield
    except AnchorError as error:
        raise click.ClickException(str(error)) from None
