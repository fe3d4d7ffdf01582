"""fusedops: fused PyTorch operators, registered as torch.ops.fusedops.*.

Importing the package loads the compiled library (libfusedops.so), which registers every operator's
schema, CPU/CUDA kernels, autograd and meta (fake) kernels with PyTorch's dispatcher.
"""
import torch

from fusedops._loader import build_info, library_path, load_library

load_library()

ops = torch.ops.fusedops

__all__ = ["build_info", "library_path", "load_library", "ops"]
