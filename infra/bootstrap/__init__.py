"""Toolchain bootstrap: idempotent, cached outside the work tree, keyed by version.

Runs on the system python3 with the standard library only, because it is what builds the venv.
"""
