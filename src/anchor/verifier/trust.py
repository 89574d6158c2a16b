"""Which registries a verifier trusts: only what its own user configured.

Anyone can deploy a look-alike registry holding the same root, so a receipt's registry counts only when it
is one of these: the deployments ``anchor deploy`` recorded in the user's home, ``ANCHOR_REGISTRY``, and
addresses given on the command line (never anything found in the directory the verifier runs in: the CLI
reads the per-user home, see :func:`anchor.config.user_home`). Each entry says where it came from (its
``source``: the record's path, the variable or file that set ``registry``, ``--registry``), and the verifier
shows it next to every verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from anchor.addresses import checked_address


@dataclass(frozen=True)
class TrustedRegistry:
    """A registry the verifier trusts: its address, on one chain or (``chain_id`` None) on the endpoints' chain."""

    address: str
    chain_id: int | None = None
    source: str = "configured"
    """Where the trust comes from, shown with the result (a deployment record's path, ``--registry``...)."""

    def matches(self, chain_id: int, address: str) -> bool:
        """Whether this is ``address`` on ``chain_id``."""
        return self.address.lower() == address.lower() and self.chain_id in (None, chain_id)


def trusted_from_deployments(folder: Path) -> list[TrustedRegistry]:
    """The registries recorded by ``anchor deploy`` in ``folder`` (``<chain-id>.json``, one per chain).

    Each one's source is ``deployment record`` and the record's absolute path (``~`` for the user's home).
    """
    found: list[TrustedRegistry] = []
    if not folder.is_dir():
        return found
    from anchor.chain.deployments import load_deployment  # here: a home without records does not import it

    for path in sorted(folder.glob("*.json")):
        if path.stem.isdigit():
            deployment = load_deployment(folder, int(path.stem))
            if deployment is not None:
                record = f"deployment record {_shown(path)}"
                found.append(TrustedRegistry(deployment.address, deployment.chain_id, record))
    return found


def _shown(path: Path) -> str:
    """``path``, absolute, with the user's home written ``~``: a public verification page shows it."""
    absolute = path.absolute()
    try:
        return f"~/{absolute.relative_to(Path.home())}"
    except (ValueError, RuntimeError):  # not under the home, or no home
        return str(absolute)


def configured_trust(
    deployments_dir: Path, registry: str | None, extra: Iterable[str] = (), registry_origin: str = "ANCHOR_REGISTRY"
) -> list[TrustedRegistry]:
    """The registries a command trusts: recorded deployments, the ``registry`` setting and ``extra`` (``--registry``).

    ``registry_origin`` says where the setting came from (``ANCHOR_REGISTRY``, a config.toml's path...).
    """
    trusted = trusted_from_deployments(deployments_dir)
    if registry:
        origin = _shown(Path(registry_origin)) if Path(registry_origin).is_absolute() else registry_origin
        trusted.append(TrustedRegistry(registry, None, f"registry setting ({origin})"))
    trusted.extend(TrustedRegistry(address, None, "--registry option") for address in extra)
    return trusted


def as_trusted(item: TrustedRegistry | str) -> TrustedRegistry:
    """``item`` with its address checked and checksummed; a bare address is trusted on the endpoints' chain."""
    if isinstance(item, TrustedRegistry):
        return TrustedRegistry(checked_address(item.address.strip()), item.chain_id, item.source)
    return TrustedRegistry(checked_address(item.strip()), None, "given")
