"""What the commands share: settings, the chain connection, the signing key and the registry."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from anchor.config import DEFAULT_HOME, Settings, load_with_origins
from anchor.errors import SigningKeyError
from anchor.networks import GWEI, NETWORKS, is_public_chain

if TYPE_CHECKING:  # web3 and eth-account load in about half a second: only commands that talk to a chain pay
    from eth_account.signers.local import LocalAccount

    from anchor.chain.connection import Chain
    from anchor.chain.registry import Registry
    from anchor.issuing.signing_keys import IssuerSigner
    from anchor.verifier.dids import ResolverSetup
    from anchor.verifier.trust import TrustedRegistry

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class AppContext:
    """Lazily built state of one ``anchor`` invocation.

    ``home`` is the ``--home`` option or ``ANCHOR_HOME`` (None when neither is given). ``per_user`` is set by
    the commands that decide what to trust (``verify``, ``serve``) before they read the settings: their home
    then defaults to the per-user directory, never to ``./.anchor`` in the current directory.
    """

    home: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    dev_account: int | None = None
    per_user: bool = False
    _settings: Settings | None = None
    _origins: dict[str, str] = field(default_factory=dict)
    _chain: Chain | None = None
    _signer: LocalAccount | None = None
    _issuer_signer: IssuerSigner | None = None

    @property
    def settings(self) -> Settings:
        """The effective configuration (files, environment, then options)."""
        if self._settings is None:
            self._settings, self._origins = load_with_origins(home=self.home, per_user=self.per_user, **self.overrides)
        return self._settings

    def trusted_registries(self, extra: tuple[str, ...]) -> list[TrustedRegistry]:
        """What a verifier trusts, each entry saying where it came from.

        The home's deployment records, the ``registry`` setting and ``extra`` (``--registry``); call it with
        :attr:`per_user` set, so that the home is the user's own.
        """
        from anchor.verifier.trust import configured_trust

        settings = self.settings
        return configured_trust(settings.deployments_dir, settings.registry, extra, self._origins["registry"])

    def ignored_project_home(self) -> Path | None:
        """``./.anchor``, when it exists and a verifier ignores it (no ``--home``/``ANCHOR_HOME``): worth a note."""
        project = Path(DEFAULT_HOME)
        if self.home is not None or not project.is_dir():
            return None
        return None if project.resolve() == self.settings.resolved_home else project

    @property
    def chain(self) -> Chain:
        """The checked connection to the configured network."""
        if self._chain is None:
            from anchor.chain.connection import connect

            self._chain = connect(self.settings)
        return self._chain

    @property
    def max_fee_ceiling_wei(self) -> int | None:
        """The configured fee ceiling in wei, if any."""
        gwei = self.settings.max_fee_gwei
        return None if gwei is None else int(gwei * GWEI)

    def registry(self) -> Registry:
        """The registry recorded for this chain (or given with --registry)."""
        from anchor.chain.deployments import registry_address
        from anchor.chain.registry import Registry

        address = registry_address(self.settings.deployments_dir, self.chain.chain_id, self.settings.registry)
        return Registry.at(self.chain, address)

    def issuer_signer(self) -> IssuerSigner:
        """The issuer's DID key that signs credentials (``anchor did``), unlocked once per invocation.

        Its password comes from ANCHOR_KEY_PASSWORD, ANCHOR_KEY_PASSWORD_FILE or a prompt; a home without issuer
        keys is an error before any prompt.
        """
        from anchor.chain.keys import read_password
        from anchor.issuing.signing_keys import configured_keyring, load_issuer_signer

        if self._issuer_signer is None:
            settings = self.settings
            keyring = configured_keyring(settings)
            name = settings.signing_key or keyring.current
            password = read_password(
                settings.key_password.get_secret_value() if settings.key_password else None,
                settings.key_password_file,
                lambda: str(click.prompt(f"Password for issuer key {name} of {keyring.did}", hide_input=True)),
            )
            self._issuer_signer = load_issuer_signer(settings, password)
        return self._issuer_signer

    def signer(self) -> LocalAccount:
        """The signing key: --key / ANCHOR_KEY, or a development account on a local chain."""
        from anchor.chain.keys import Keystore, development_accounts, read_password

        if self._signer is not None:
            return self._signer
        settings = self.settings
        if settings.key:
            password = read_password(
                settings.key_password.get_secret_value() if settings.key_password else None,
                settings.key_password_file,
                lambda: str(click.prompt(f"Password for key {settings.key}", hide_input=True)),
            )
            self._signer = Keystore(settings.keys_dir).unlock(settings.key, password)
        elif not is_public_chain(self.chain.chain_id):
            index = self.dev_account or 0
            self._signer = development_accounts()[index]
        else:
            raise SigningKeyError(
                f"no signing key for chain {self.chain.chain_id}: pass --key NAME (see `anchor key list`) "
                "or set ANCHOR_KEY"
            )
        return self._signer


def chain_options(command: F) -> F:
    """Add --network, --rpc, --registry, --key and --dev-account to a command that talks to a chain."""

    @click.option(
        "--network",
        type=click.Choice(sorted(NETWORKS)),
        help="local (anvil, 31337), amoy (Polygon testnet, 80002) or polygon (Polygon PoS, 137). Default: local.",
    )
    @click.option("--rpc", "rpc_url", metavar="URL", help="JSON-RPC endpoint (default: the network's).")
    @click.option("--registry", metavar="ADDRESS", help="Registry address (default: the one `anchor deploy` recorded).")
    @click.option("--key", metavar="NAME", help="Signing key: a keystore name from `anchor key list` or a path.")
    @click.option(
        "--dev-account",
        type=click.IntRange(0, 19),
        help="On a local chain without --key: sign with this well-known development account (default 0).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any,
        network: str | None,
        rpc_url: str | None,
        registry: str | None,
        key: str | None,
        dev_account: int | None,
        **kwargs: Any,
    ) -> Any:
        app = click.get_current_context().find_object(AppContext)
        assert app is not None
        app.overrides.update(network=network, rpc_url=rpc_url, registry=registry, key=key)
        app.dev_account = dev_account
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def verifier_endpoint_options(command: F) -> F:
    """Add --network, --rpc (repeatable: a quorum) and --registry (repeatable: trusted) for the verifier."""
    options = [
        click.option(
            "--network",
            type=click.Choice(sorted(NETWORKS)),
            help="Network whose default RPC endpoint is used when no --rpc is given. Default: local.",
        ),
        click.option(
            "--rpc",
            "rpc_urls",
            multiple=True,
            metavar="URL",
            help="JSON-RPC endpoint; give several and every one must give the same answer (default: the network's).",
        ),
        click.option(
            "--registry",
            "registries",
            multiple=True,
            metavar="ADDRESS",
            help="Trust this registry address too (besides HOME/deployments/*.json and ANCHOR_REGISTRY; HOME is "
            "--home, ANCHOR_HOME or ~/.config/anchor, never ./.anchor).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def did_options(command: F) -> F:
    """Add --did-document (repeatable) and --did-ca-bundle for the verifier's signature check."""
    options = [
        click.option(
            "--did-document",
            "did_documents",
            multiple=True,
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Use this did.json for the did:web DID that is its id instead of fetching it (offline use; "
            "repeatable).",
        ),
        click.option(
            "--did-ca-bundle",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            metavar="FILE",
            help="Trust only the certificate authorities in this PEM file when fetching did:web documents "
            "(default: the system's).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def did_setup(app: AppContext, documents: tuple[Path, ...], ca_bundle: Path | None, timeout: float) -> ResolverSetup:
    """How a verifier resolves DIDs: the ``documents`` given, a disk cache in the (per-user) home, ``ca_bundle``."""
    from anchor.verifier.dids import ResolverSetup, given_documents

    return ResolverSetup(
        documents=given_documents(documents),
        cache_dir=app.settings.did_cache_dir,
        timeout=timeout,
        ca_bundle=ca_bundle,
    )


def note_ignored_home(app: AppContext) -> None:
    """On standard error: say that ``./.anchor`` here was not read by a verifier, and what is trusted instead."""
    from anchor.cli.terminal import echo, printable

    ignored = app.ignored_project_home()
    if ignored is not None:
        echo(
            f"note: {ignored} in this directory is ignored: verification trusts only your own configuration "
            f"({printable(app.settings.resolved_home)}, ANCHOR_REGISTRY, --registry); run `anchor --home {ignored} "
            "verify ...` only if it is yours",
            err=True,
        )


def app_context() -> AppContext:
    """The AppContext of the running command."""
    app = click.get_current_context().find_object(AppContext)
    assert app is not None
    return app
