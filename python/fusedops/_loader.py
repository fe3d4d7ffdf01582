"""Finds and loads libfusedops.so, with an error that says what to do when it cannot."""
import os
from pathlib import Path

import torch

_PACKAGE_DIR = Path(__file__).resolve().parent
_loaded_path = None


def _candidates():
    if os.environ.get("FUSEDOPS_LIBRARY"):
        yield Path(os.environ["FUSEDOPS_LIBRARY"])
    yield _PACKAGE_DIR / "lib" / "libfusedops.so"  # an installed package
    yield _PACKAGE_DIR.parent.parent / "build" / "libfusedops.so"  # a source checkout after scripts/setup


def build_info(path=None):
    """The fields of the library's fusedops_build_info.txt (torch, cuda, cuda_archs); {} when it has none."""
    info = Path(path or _loaded_path).parent / "fusedops_build_info.txt"
    if not info.exists():
        return {}
    return dict(line.split("=", 1) for line in info.read_text().split() if "=" in line)


def _built_for(path):
    fields = build_info(path)
    if not fields:
        return "an unknown torch"
    return f"torch {fields.get('torch', '?')} (CUDA kernels: {fields.get('cuda', '?')})"


def library_path():
    """The path of the loaded library (None before load_library())."""
    return _loaded_path


def load_library():
    """Loads libfusedops.so once; FUSEDOPS_LIBRARY overrides where it is looked for."""
    global _loaded_path
    if _loaded_path is not None:
        return _loaded_path
    tried = []
    for path in _candidates():
        if not path.exists():
            tried.append(str(path))
            continue
        try:
            torch.ops.load_library(str(path))
        except OSError as err:
            raise ImportError(
                f"fusedops: {path} could not be loaded: {err}\n"
                f"It was built for {_built_for(path)}; this Python has torch {torch.__version__}. "
                "Rebuild it against this torch (scripts/setup) or point FUSEDOPS_LIBRARY at a matching build."
            ) from err
        _loaded_path = path
        return path
    raise ImportError(
        "fusedops: libfusedops.so was not found; looked in: " + ", ".join(tried)
        + ". Build it with scripts/setup (or set FUSEDOPS_LIBRARY)."
    )
