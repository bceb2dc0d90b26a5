"""Where libreal, the native interposition library (native/src), was built."""

from __future__ import annotations

from pathlib import Path


def libreal_path() -> Path:
    """libreal is built by `pip install` as the extension module realfish._libreal (never imported)."""
    import importlib.machinery

    pkg = Path(__file__).resolve().parents[1]
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        cand = pkg / f"_libreal{suffix}"
        if cand.exists():
            return cand
    raise FileNotFoundError(f"libreal is not built (no {pkg}/_libreal*.so): run `pip install -e .` or `make demo`")
