"""``anchor serve``: the verification HTTP API and page, served by uvicorn."""

from __future__ import annotations

from pathlib import Path

import click

from anchor.cli.context import app_context, did_options, did_setup, note_ignored_home, verifier_endpoint_options
from anchor.cli.output import console, safe


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@verifier_endpoint_options
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 300),
    default=10.0,
    show_default=True,
    help="Seconds per RPC request (and per did:web document).",
)
@did_options
def serve(
    host: str,
    port: int,
    network: str | None,
    rpc_urls: tuple[str, ...],
    registries: tuple[str, ...],
    timeout: float,
    did_documents: tuple[Path, ...],
    did_ca_bundle: Path | None,
) -> None:
    """Serve the verification page (/) and HTTP API (POST /verify, GET /health, /docs).

    The page verifies a pasted or dropped receipt, or one carried by a link
    (`anchor verify --link`), and shows each check, the credential and the on-chain
    evidence. Every asset is served by this app; nothing is loaded from elsewhere.
    Bodies over 1 MiB are refused (413). Trust comes only from your own configuration
    (--home, ANCHOR_HOME or ~/.config/anchor; ANCHOR_REGISTRY; --registry), never from the
    .anchor of the current directory; /health lists each trusted registry and its source.
    Issuers' DID documents come from --did-document files or the issuers' own did:web sites
    (for registered issuers only), never from a request.
    """
    import uvicorn

    from anchor.urls import mask_url
    from anchor.web import WebConfig, create_app

    app = app_context()
    app.overrides["network"] = network
    app.per_user = True  # trust only the user's own configuration, never ./.anchor
    settings = app.settings
    urls = list(rpc_urls) or [settings.effective_rpc_url]
    trusted = app.trusted_registries(registries)
    dids = did_setup(app, did_documents, did_ca_bundle, timeout)
    note_ignored_home(app)
    web = create_app(WebConfig(rpc_urls=urls, trusted=trusted, timeout=timeout, dids=dids))
    shown = ", ".join(safe(mask_url(url)) for url in urls)
    console.print(f"verification page on http://{host}:{port}/ (API docs /docs); RPC: {shown}")
    for item in trusted:
        chain = f"chain {item.chain_id}" if item.chain_id is not None else "the endpoints' chain"
        console.print(f"trusted registry {item.address} on {chain}, from {safe(item.source)}")
    for document in dids.documents:
        console.print(f"DID document of {safe(document.did)} from {safe(document.source)}")
    if not trusted:
        console.print("[yellow]warning:[/] no trusted registry: every receipt will be INVALID (untrusted registry)")
    uvicorn.run(web, host=host, port=port, log_level="info", server_header=False)
