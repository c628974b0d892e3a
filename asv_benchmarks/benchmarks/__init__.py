"""asv benchmarks of lbfgsb_numba against scipy's L-BFGS-B.

Every comparison with scipy is a parameter (``solver``) of the same
benchmark, so asv shows both side by side.  ``setup`` builds the problems and
runs one solve, so that timings exclude Numba compilation.
"""
