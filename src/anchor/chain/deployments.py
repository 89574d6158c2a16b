"""Deployment records: which registry anchor uses on which chain (``ANCHOR_HOME/deployments/<chain-id>.json``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _pysha3 import keccak_256  # not the sha3 module: it imports hashlib (OpenSSL)

from anchor.addresses import checked_address
from anchor.chain.artifacts import load_artifact
from anchor.errors import DeploymentError, InvalidInputError
from anchor.files import private_directory, write_json_atomically

DEPLOYMENT_FORMAT = "anchor-deployment-v1"


@dataclass(frozen=True)
class Deployment:
    """Where and from what a registry was deployed."""

    chain_id: int
    address: str
    block: int
    tx_hash: str
    deployer: str
    admin: str
    admin_delay: int
    artifact_hash: str
    network: str
    format: str = DEPLOYMENT_FORMAT

    def to_json(self) -> dict[str, Any]:
        """The record as stored on disk."""
        return asdict(self)


def artifact_hash(name: str = "CredentialRegistry") -> str:
    """keccak256 of the deployed artifact's creation bytecode: which build a deployment came from."""
    bytecode = load_artifact(name)["bytecode"]
    return "0x" + str(keccak_256(bytes.fromhex(bytecode.removeprefix("0x"))).hexdigest())


def deployment_path(folder: Path, chain_id: int) -> Path:
    """The record file for ``chain_id``."""
    return folder / f"{chain_id}.json"


def record_deployment(folder: Path, deployment: Deployment) -> Path:
    """Write ``deployment`` atomically as the registry of its chain."""
    private_directory(folder)
    path = deployment_path(folder, deployment.chain_id)
    write_json_atomically(path, deployment.to_json(), ensure_ascii=True)
    return path


def refuse_redeployment(folder: Path, chain_id: int, force: bool) -> None:
    """Refuse to deploy over the registry recorded for ``chain_id`` unless ``force``."""
    existing = load_deployment(folder, chain_id)
    if existing is not None and not force:
        raise InvalidInputError(
            f"a registry is already deployed on chain {chain_id} at {existing.address} "
            f"(block {existing.block}); pass --force to deploy a new one and use it from now on"
        )


def record_new_deployment(
    folder: Path,
    *,
    chain_id: int,
    address: str,
    block: int,
    tx_hash: str,
    deployer: str,
    admin: str,
    admin_delay: int,
    network: str,
) -> Path:
    """Record a registry just deployed from the committed artifact as the registry of ``chain_id``."""
    deployment = Deployment(
        chain_id=chain_id,
        address=address,
        block=block,
        tx_hash=tx_hash,
        deployer=deployer,
        admin=admin,
        admin_delay=admin_delay,
        artifact_hash=artifact_hash(),
        network=network,
    )
    return record_deployment(folder, deployment)


def load_deployment(folder: Path, chain_id: int) -> Deployment | None:
    """The recorded deployment for ``chain_id``, or None if there is none."""
    path = deployment_path(folder, chain_id)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != DEPLOYMENT_FORMAT:
            raise DeploymentError(f"{path} has format {data.get('format')!r}, expected {DEPLOYMENT_FORMAT}")
        return Deployment(**data)
    except (OSError, ValueError, TypeError) as error:
        raise DeploymentError(f"{path} is not a readable deployment record: {error}") from error


def registry_address(folder: Path, chain_id: int, explicit: str | None = None) -> str:
    """The registry to use on ``chain_id``: ``explicit`` if given, else the recorded deployment."""
    if explicit:
        return checked_address(explicit)
    deployment = load_deployment(folder, chain_id)
    if deployment is None:
        raise DeploymentError(
            f"no registry known on chain {chain_id}: deploy one with `anchor deploy`, "
            "or name one with --registry / ANCHOR_REGISTRY"
        )
    return deployment.address
