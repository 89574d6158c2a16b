"""``anchor serve``: the verification HTTP API and page, served by uvicorn."""

from __future__ import annotations

import click

from anchor.cli.context import app_context, verifier_endpoint_options
from anchor.cli.output import console


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on.")
@verifier_endpoint_options
@click.option(
    "--timeout", type=click.FloatRange(0.1, 300), default=10.0, show_default=True, help="Seconds per RPC request."
)
def serve(
    host: str, port: int, network: str | None, rpc_urls: tuple[str, ...], registries: tuple[str, ...], timeout: float
) -> None:
    """Serve the verification page (/) and HTTP API (POST /verify, GET /health, /docs).

    The page verifies a pasted or dropped receipt, or one carried by a link
    (`anchor verify --link`), and shows each check, the credential and the on-chain
    evidence. Every asset is served by this app; nothing is loaded from elsewhere.
    Bodies over 1 MiB are refused (413).
    """
    import uvicorn

    from anchor.verifier import configured_trust
    from anchor.web import WebConfig, create_app

    app = app_context()
    app.overrides["network"] = network
    settings = app.settings
    urls = list(rpc_urls) or [settings.effective_rpc_url]
    trusted = configured_trust(settings.deployments_dir, settings.registry, registries)
    web = create_app(WebConfig(rpc_urls=urls, trusted=trusted, timeout=timeout))
    console.print(f"verification page on http://{host}:{port}/ (API docs /docs); RPC: {', '.join(urls)}")
    if not trusted:
        console.print("[yellow]warning:[/] no trusted registry: every receipt will be INVALID (untrusted registry)")
    uvicorn.run(web, host=host, port=port, log_level="info", server_header=False)
