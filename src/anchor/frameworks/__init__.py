"""The registry's whole lifecycle from the operators' frameworks: ape (``scripts/``) and brownie (``brownie/``).

A framework brings its accounts and its connection; :mod:`~anchor.frameworks.operations` brings the rest,
framework-neutral and on anchor's library (the registry only through :class:`anchor.chain.registry.Registry`);
:mod:`~anchor.frameworks.ape_support` signs and sends with ape's accounts. Brownie's scripts use
:mod:`~anchor.frameworks.operations` directly (brownie lives in its own virtualenv, ``make brownie``).
"""
