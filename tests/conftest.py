"""Shared fixtures; the helper modules (oracle_problems, ...) live next to
the tests."""
import os
import sys

import pytest

import lbfgsb_numba.compiled as compiled_module

# the problem suite module lives next to the tests
sys.path.insert(0, os.path.dirname(__file__))
# the benchmark problems (``benchmarks.problems``) live beside the asv suite
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "asv_benchmarks"))


@pytest.fixture
def compiled_calls(monkeypatch):
    """Objectives handed to ``compiled.solve_compiled`` (api imports it
    lazily from the module, so patching the module attribute counts every
    compiled-path solve)."""
    calls = []
    real = compiled_module.solve_compiled

    def counting(fun, *args, **kwargs):
        calls.append(fun)
        return real(fun, *args, **kwargs)

    monkeypatch.setattr(compiled_module, "solve_compiled", counting)
    return calls
