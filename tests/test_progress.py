"""minimize_batch(progress=True): the rows solved in blocks with a progress
bar (tqdm when installed, a plain line otherwise), the same results."""
import sys

import numpy as np
import pytest

from dask_objectives import LOWER, UPPER, args_for, problem, two_exp_fg
from lbfgsb_numba import progress as progress_module
from lbfgsb_numba.batch import minimize_batch

FIELDS = ("x", "fun", "jac", "nit", "nfev", "status", "success", "task")


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of a few rows, so that a small batch spans many blocks."""
    monkeypatch.setattr(progress_module, "MIN_ROWS_PER_THREAD", 3)


@pytest.mark.parametrize("parallel", [True, False])
def test_progress_same_results_over_many_blocks(small_blocks, parallel,
                                                monkeypatch, capsys):
    x0, y = problem(50, nan_rows=(7,))
    args = args_for(y)
    plain = minimize_batch(two_exp_fg, x0, args, (LOWER, UPPER),
                           parallel=parallel)
    blocks = []
    real_solve = progress_module.solve_in_blocks

    def spy(solve_rows, k, threads, desc="minimize_batch"):
        def counted(a, b):
            blocks.append((a, b))
            solve_rows(a, b)
        real_solve(counted, k, threads, desc)
    monkeypatch.setattr(progress_module, "solve_in_blocks", spy)
    shown = minimize_batch(two_exp_fg, x0, args, (LOWER, UPPER),
                           parallel=parallel, progress=True)
    for name in FIELDS:
        np.testing.assert_array_equal(shown[name], plain[name])
    assert shown.message == plain.message
    # consecutive blocks covering every row once
    assert len(blocks) > 3
    assert blocks[0][0] == 0 and blocks[-1][1] == 50
    assert all(b[1] == c[0] for b, c in zip(blocks, blocks[1:]))
    assert "50/50" in capsys.readouterr().err


def test_plain_line_without_tqdm(small_blocks, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    x0, y = problem(20)
    minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                   parallel=False, progress=True)
    err = capsys.readouterr().err
    assert "minimize_batch: 20/20 (100%)" in err
    assert err.count("\r") > 1 and err.endswith("\n")


def test_tqdm_bar_when_installed(small_blocks, capsys):
    pytest.importorskip("tqdm")
    x0, y = problem(20)
    minimize_batch(two_exp_fg, x0, args_for(y), (LOWER, UPPER),
                   parallel=False, progress=True)
    err = capsys.readouterr().err
    assert "20/20" in err and "fit" in err and "100%|" in err


def test_block_rows():
    assert progress_module.block_rows(10**7, 2) == 10**7 // 50
    assert progress_module.block_rows(1000, 2) == \
        2 * progress_module.MIN_ROWS_PER_THREAD
    assert progress_module.block_rows(0, 1) >= 1
