"""Helpers shared by the test modules (no tests here): local anvil nodes, databases, prerequisites, a verifier world.

``tests/`` is on ``sys.path`` when pytest runs (``rootdir/tests`` holds ``conftest.py``), so test modules
import these as ``support.anvil``, ``support.db`` and so on.
"""
