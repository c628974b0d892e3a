"""The public API's docstrings: numpydoc sections on every public function,
class and method, the papers cited on the entry points, and the Examples
run as doctests (they print what they show)."""
import doctest
import inspect
import re

import pytest

import lbfgsb_numba
from lbfgsb_numba import botorch, checkpoint, warm_start
from lbfgsb_numba.ask_tell import LbfgsbSolver
from lbfgsb_numba.batch_ask_tell import BatchSolver
from lbfgsb_numba.hess_inv import LbfgsInvHessProduct

# public methods per public class (properties are attributes, documented in
# the class's Attributes section)
_METHODS = {
    LbfgsbSolver: ("ask", "tell", "stop", "result", "state", "from_state",
                   "save", "load"),
    BatchSolver: ("ask", "tell", "hess_inv", "result"),
    LbfgsInvHessProduct: ("matvec", "matmat", "dot", "todense"),
}


def _public():
    """(name, object) of every public function, class and method."""
    out = [(name, getattr(lbfgsb_numba, name))
           for name in lbfgsb_numba.__all__ if name != "status"]
    out += [("botorch.fmin_l_bfgs_b_batched", botorch.fmin_l_bfgs_b_batched),
            ("checkpoint.check_state", checkpoint.check_state),
            ("checkpoint.state_checksum", checkpoint.state_checksum),
            ("checkpoint.save_state", checkpoint.save_state),
            ("checkpoint.load_state", checkpoint.load_state),
            ("warm_start.warm_start_pairs", warm_start.warm_start_pairs)]
    try:
        from lbfgsb_numba import dask as lbd
    except ImportError:  # the dask extra is not installed
        pass
    else:
        out += [("dask.minimize_batch", lbd.minimize_batch)]
        out += [(f"dask.DaskBatchResult.{m}",
                 getattr(lbd.DaskBatchResult, m))
                for m in ("warm_up", "persist", "compute")]
    for cls, methods in _METHODS.items():
        out += [(f"{cls.__name__}.{m}", getattr(cls, m)) for m in methods]
    return out


PUBLIC = _public()
NAMES = [name for name, _ in PUBLIC]

# entry points that solve: they cite the papers and show an example
ENTRY_POINTS = ("fmin_l_bfgs_b", "minimize", "minimize_batch",
                "njit_minimize", "LbfgsbSolver", "BatchSolver",
                "botorch.fmin_l_bfgs_b_batched", "dask.minimize_batch")

# examples that compile a new @njit objective (seconds each): checked to be
# present, not run here
SLOW_EXAMPLES = ("njit_minimize", "dask.minimize_batch")


def _sections(doc):
    """Names of the numpydoc sections (a title underlined with dashes)."""
    return set(re.findall(r"^(\w[\w ]*)\n-{3,}$", doc, re.M))


def test_every_public_name_is_listed():
    """The list above covers ``__all__`` (a new public name must get its
    docstring checked)."""
    assert set(lbfgsb_numba.__all__) - {"status"} <= set(NAMES)
    assert inspect.getdoc(lbfgsb_numba.status)


@pytest.mark.parametrize("name,obj", PUBLIC, ids=NAMES)
def test_numpydoc_sections(name, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    sections = _sections(doc)
    assert "Returns" in sections, f"{name}: no Returns section"
    try:
        parameters = inspect.signature(obj).parameters.values()
    except ValueError:  # a dict subclass: takes the entries as keywords
        takes_arguments = True
    else:
        takes_arguments = any(p.name not in ("self", "cls")
                              for p in parameters)
    if takes_arguments:
        assert "Parameters" in sections, f"{name}: no Parameters section"
    # a summary line first, then a blank line or the end
    assert doc.split("\n")[0].strip()


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_entry_points_cite_the_papers_and_show_an_example(name):
    obj = dict(PUBLIC).get(name)
    if obj is None:
        pytest.skip(f"{name} is not importable here")
    doc = inspect.getdoc(obj)
    sections = _sections(doc)
    assert {"References", "Examples", "Raises"} <= sections, name
    references = doc.split("References\n----------", 1)[1]
    for cited in ("SIAM J. Sci. Comput.", "Algorithm 778",
                  "Remark on Algorithm 778"):
        assert cited in references, f"{name} does not cite {cited!r}"


def _examples(obj):
    """The doctest of ``obj``'s own docstring (not of its members)."""
    finder = doctest.DocTestFinder(recurse=False)
    return finder.find(obj, getattr(obj, "__qualname__", None) or "doc",
                       globs={})


WITH_EXAMPLES = [(name, obj) for name, obj in PUBLIC
                 if any(t.examples for t in _examples(obj))]


def test_entry_points_have_examples():
    shown = {name for name, _ in WITH_EXAMPLES}
    assert {n for n in ENTRY_POINTS if n in NAMES} <= shown
    assert len(shown) >= 20


@pytest.mark.parametrize("name,obj", WITH_EXAMPLES,
                         ids=[name for name, _ in WITH_EXAMPLES])
def test_examples_run_and_print_what_they_show(name, obj):
    tests = [t for t in _examples(obj) if t.examples]
    # the examples show outputs that doctest compares
    assert any(ex.want.strip() for t in tests for ex in t.examples), name
    if name in SLOW_EXAMPLES:
        pytest.skip("compiles a new @njit objective (seconds)")
    runner = doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    for t in tests:
        runner.run(t)
    failed, attempted = runner.summarize(verbose=False)
    assert attempted > 0
    assert failed == 0, f"{name}: {failed} of {attempted} examples failed"
