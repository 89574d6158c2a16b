"""A did:web issuer on a local anvil node, driven through the command line: home, registry, key, credentials."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from anchor.chain.keys import development_accounts
from anchor.cli import main
from anchor.credentials.examples import Issuer, generate_credentials

from support.anvil import free_port

Run = Callable[..., Result]


@contextmanager
def issued_on_a_local_chain(tmp_path: Path, issuer: Issuer, did: str, count: int, seed: int = 31) -> Iterator[Run]:
    """``anchor`` with a home in ``tmp_path / "home"`` whose node runs, registry is deployed and issuer ``did``
    registered (signing with development account 1), and ``count`` of its credentials issued (queued);
    the node is stopped after."""
    env = {
        "ANCHOR_HOME": str(tmp_path / "home"),
        "ANCHOR_NODE_PORT": str(free_port()),
        "ANCHOR_NODE_BLOCK_TIME": "0.3",
        "ANCHOR_KEY_PASSWORD": "correct horse battery staple",
    }
    runner = CliRunner()

    def anchor(*args: str | Path) -> Result:
        return runner.invoke(main, [str(arg) for arg in args], env=env, catch_exceptions=False)

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for number, credential in enumerate(generate_credentials(count, seed=seed, issuer=issuer, issuer_did=did)):
        (inbox / f"{number}.json").write_text(json.dumps(credential, ensure_ascii=False), encoding="utf-8")
    try:
        assert anchor("node", "start").exit_code == 0
        assert anchor("deploy").exit_code == 0
        assert anchor("did", "key", "create", "--did", did).exit_code == 0
        signer = development_accounts()[1].address
        registered = anchor(
            "issuer", "register", "--name", issuer.name, "--country", issuer.country_code, "--signer", signer
        )
        assert registered.exit_code == 0, registered.output
        assert anchor("issue", inbox).exit_code == 0
        yield anchor
    finally:
        anchor("node", "stop")
