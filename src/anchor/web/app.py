"""The verification HTTP API and page: ``POST /verify``, ``GET /health``, ``/docs``, and the page at ``/``.

Everything the browser loads comes from this app (the page's HTML, CSS and JavaScript as package data, the
API docs' Swagger UI from the ``fastapi-offline`` package); the page's Content-Security-Policy forbids any
other origin, so a verification leaks nothing to a CDN.

Responses of ``POST /verify``: 200 with the result for VALID and INVALID receipts; 422 with the result when
the body is JSON but not a usable receipt and 400 when it is not (strict I-JSON: duplicate keys, NaN... refused);
502 with the result when an RPC endpoint could not be asked; each with an ``error`` member ``{"code", "message"}``.
Other refusals (413 over the size limit, 415 not JSON content, 404, 405) are ``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from anchor import __version__
from anchor.credentials import MAX_CREDENTIAL_BYTES
from anchor.errors import InvalidInputError
from anchor.verifier import CheckState, RpcError, TrustedRegistry, Verdict, Verification, Verifier

#: Largest request body accepted, in bytes (the same 1 MiB as a receipt file).
#: A request body holds one receipt: at most as large as a credential may be.
MAX_BODY_BYTES = MAX_CREDENTIAL_BYTES
#: What the page may load: only this origin; no inline scripts; styles from files only.
PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
)

_STATIC = resources.files("anchor.web").joinpath("static")
_EXAMPLE = {
    "@context": ["https://www.w3.org/ns/credentials/v2", "..."],
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:credentials.example", "name": "..."},
    "credentialSubject": {"...": "..."},
    "anchorSalt": "0x...",
    "anchorFormat": "anchor-credential-v1",
    "proof": {"type": "AnchorMerkleProof", "format": "anchor-receipt-v1", "chainId": 137, "...": "..."},
}


@dataclass
class WebConfig:
    """What the app verifies against."""

    rpc_urls: Sequence[str]
    trusted: Sequence[TrustedRegistry | str]
    timeout: float = 10.0
    max_body_bytes: int = MAX_BODY_BYTES
    extra_headers: dict[str, str] = field(default_factory=dict)


class ApiError(InvalidInputError):
    """A request the API refuses before verifying it: a 4xx answer with a code and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(config: WebConfig) -> FastAPI:
    """The ASGI app; one :class:`~anchor.verifier.Verifier` serves every request (thread-safe)."""
    state: dict[str, Verifier] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state["verifier"] = Verifier(config.rpc_urls, config.trusted, timeout=config.timeout)
        try:
            yield
        finally:
            state.pop("verifier").close()

    app = FastAPIOffline(
        title="anchor verifier",
        version=__version__,
        description=(
            "Verifies EU micro-credential receipts anchored on an EVM chain: integrity, anchoring by the "
            "credential's issuer in a trusted registry at the finalized block, revocation and validity."
        ),
        redoc_url=None,
        static_url="/docs-assets",
        favicon_url="/static/favicon.svg",
        swagger_ui_parameters={"validatorUrl": None, "defaultModelsExpandDepth": 0},
        lifespan=lifespan,
    )

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _error(error.status, error.code, error.message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
        return _error(error.status_code, code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid-request", str(error.errors()[:3]))

    @app.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if not request.url.path.startswith(("/docs", "/openapi")):
            response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        for name, value in config.extra_headers.items():
            response.headers[name] = value
        return response

    @app.post(
        "/verify",
        summary="Verify a receipt",
        response_description="The checks in order, the verdict and the on-chain evidence",
        responses={
            200: {"description": "Verified: the verdict is VALID or INVALID"},
            400: {"description": "The body is not strict JSON (the result's receipt check says why)"},
            413: {"description": f"The body is larger than {MAX_BODY_BYTES} bytes"},
            415: {"description": "The body is not sent as application/json"},
            422: {"description": "JSON, but not a usable receipt (the result names the failing check)"},
            502: {"description": "An RPC endpoint could not be asked (the result says which)"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": "A receipt: the credential with its AnchorMerkleProof, as issued (anchor-receipt-v1)",
                "content": {"application/json": {"schema": {"type": "object"}, "example": _EXAMPLE}},
            }
        },
    )
    async def verify_receipt(request: Request) -> JSONResponse:
        """Run every check on the receipt in the body and return the result (verdict, checks, evidence)."""
        body = await _read_body(request, config.max_body_bytes)
        result: Verification = await run_in_threadpool(state["verifier"].verify, body)
        document = result.to_json()
        receipt = result.check("receipt")
        if receipt.state is CheckState.FAILED:
            status = 400 if receipt.code == "unreadable" else 422
            document["error"] = {"code": receipt.code, "message": receipt.reason}
            return JSONResponse(document, status_code=status)
        if result.verdict is Verdict.ERROR:
            document["error"] = {"code": "rpc-unreachable", "message": result.summary}
            return JSONResponse(document, status_code=502)
        return JSONResponse(document)

    @app.get("/health", summary="Liveness and the endpoints' chains")
    async def health() -> JSONResponse:
        """``ok`` when every RPC endpoint answers ``eth_chainId``; the trusted registries."""
        verifier = state["verifier"]
        endpoints: list[dict[str, Any]] = []
        for endpoint in verifier.endpoints:
            try:
                chain_id = await run_in_threadpool(endpoint.chain_id)
                endpoints.append({"url": endpoint.shown_url, "chainId": chain_id})
            except RpcError as error:
                endpoints.append({"url": endpoint.shown_url, "error": str(error)})
        healthy = all("chainId" in item for item in endpoints)
        document = {
            "status": "ok" if healthy else "degraded",
            "version": __version__,
            "endpoints": endpoints,
            "trustedRegistries": [
                {"address": item.address, "chainId": item.chain_id, "source": item.source} for item in verifier.trusted
            ],
        }
        return JSONResponse(document, status_code=200 if healthy else 503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        with resources.as_file(_STATIC.joinpath("index.html")) as path:
            return FileResponse(path, media_type="text/html; charset=utf-8")

    with resources.as_file(_STATIC) as folder:
        app.mount("/static", StaticFiles(directory=folder), name="static")
    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The request body, refused early when it is not JSON content or is larger than ``limit``."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "send the receipt as application/json")
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise ApiError(400, "bad-content-length", "the Content-Length header is not a number")
        if int(length) > limit:
            raise ApiError(413, "payload-too-large", f"the body is {length} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, "payload-too-large", f"the body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    if size == 0:
        raise ApiError(400, "empty-body", "the body is empty: send a receipt")
    return b"".join(chunks)
