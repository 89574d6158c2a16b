"""anchor: tamper-proof, verifiable EU micro-credentials anchored on an EVM chain."""

from anchor.errors import AnchorError

__all__ = ["AnchorError", "__version__"]
__version__ = "0.1.0"
