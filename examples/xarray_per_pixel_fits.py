"""Per-pixel bi-exponential decay fits over an xarray image cube, with Dask.

A synthetic decay-imaging cube (as in fluorescence lifetime imaging or
diffusion MRI): 512 x 512 pixels x 40 time points,

    y(t) = a_fast exp(-k_fast t) + a_slow exp(-k_slow t) + offset + noise,

with smooth parameter maps and a region of dead pixels (NaN data).  Every
pixel is one bounded 5-parameter least-squares fit; the 262144 fits run in
chunks of image rows through ``lbfgsb_numba.dask.minimize_batch`` (or,
with ``--apply-ufunc``, through ``xarray.apply_ufunc(...,
dask="parallelized")`` calling the in-process ``minimize_batch`` on each
block; both give the same numbers).  The parameter maps and a map of the
solver status go to ``xarray_per_pixel_fits.png`` next to this script.

Run (after ``pip install ".[dask,examples]"``):

    python examples/xarray_per_pixel_fits.py              # threads
    python examples/xarray_per_pixel_fits.py --cluster    # LocalCluster
    python examples/xarray_per_pixel_fits.py --scheduler tcp://host:8786
    python examples/xarray_per_pixel_fits.py --size 128 --apply-ufunc
"""
import argparse
import os
import sys
import time

import numpy as np
import xarray as xr

from lbfgsb_numba import dask as lbd
from lbfgsb_numba.batch import minimize_batch
# The model's sum of squared residuals and its gradient, (f, g), an @njit
# function of (p, t, y) from an importable module: Dask workers import it
# (and its Numba cache) by name.  One defined in this script (__main__)
# would travel to the workers by value and be compiled once per worker.
# Here it is the benchmark problems' fit objective (asv_benchmarks/ is put
# on sys.path here, and on the workers' by ``importable_on_workers``).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "asv_benchmarks"))
from benchmarks.problems import (  # noqa: E402
    importable_on_workers, two_exp_njit as biexp_fg)

T = np.linspace(0.0, 8.0, 40)
PARAMS = ["a_fast", "k_fast", "a_slow", "k_slow", "offset"]
X0 = np.array([1.0, 2.0, 0.5, 0.2, 0.0])
LOWER = np.array([0.0, 0.8, 0.0, 0.02, -0.5])   # k_fast > k_slow: no swap
UPPER = np.array([5.0, 10.0, 5.0, 0.8, 0.5])
STATUS_NAMES = ["converged", "iteration/evaluation limit",
                "abnormal (NaN data)"]


def synthetic_cube(size=512, seed=0, chunk_rows=32):
    """(cube (y, x, time) chunked by image rows, true parameter maps)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.meshgrid(np.linspace(-1, 1, size), np.linspace(-1, 1, size),
                         indexing="ij")
    radius = np.hypot(xx, yy)
    truth = np.stack([1.0 + 0.5 * np.cos(3 * xx),          # a_fast
                      2.0 + 2.0 * radius,                   # k_fast
                      0.6 + 0.3 * np.sin(2 * yy),           # a_slow
                      0.15 + 0.15 * (xx + 1) / 2,           # k_slow
                      0.05 * yy], axis=-1)                  # offset
    decay = (truth[..., :1] * np.exp(-truth[..., 1:2] * T)
             + truth[..., 2:3] * np.exp(-truth[..., 3:4] * T)
             + truth[..., 4:5])
    data = decay + rng.normal(0.0, 0.01, decay.shape)
    dead = (np.abs(xx - 0.45) < 0.15) & (np.abs(yy + 0.5) < 0.1)
    dead |= rng.random((size, size)) < 0.001                # scattered
    data[dead] = np.nan
    cube = xr.DataArray(data, dims=("y", "x", "time"),
                        coords={"time": T}, name="signal")
    truth = xr.DataArray(truth, dims=("y", "x", "param"),
                         coords={"param": PARAMS})
    return cube.chunk({"y": chunk_rows, "x": -1, "time": -1}), truth


def fit_cube(cube):
    """Lazy Dataset of parameter maps, status and residual per pixel,
    through lbfgsb_numba.dask (the pixels as rows of one batch)."""
    ny, nx, nt = cube.shape
    k = ny * nx
    pixels = cube.data.reshape(k, nt)            # chunks of whole image rows
    res = lbd.minimize_batch(biexp_fg, np.broadcast_to(X0, (k, 5)),
                             args=(np.broadcast_to(T, (k, nt)), pixels),
                             bounds=(LOWER, UPPER))
    return xr.Dataset(
        {"params": (("y", "x", "param"), res.x.reshape(ny, nx, 5)),
         "status": (("y", "x"), res.status.reshape(ny, nx)),
         "fun": (("y", "x"), res.fun.reshape(ny, nx))},
        coords={"param": PARAMS})


def _fit_block(block):
    """apply_ufunc's function: one block (..., time) -> params, status."""
    shape = block.shape[:-1]
    y = block.reshape(-1, block.shape[-1])
    k = y.shape[0]
    res = minimize_batch(biexp_fg, np.broadcast_to(X0, (k, 5)),
                         args=(np.broadcast_to(T, (k, T.size)),
                               np.ascontiguousarray(y)),
                         bounds=(LOWER, UPPER), parallel=False)
    return (res.x.reshape(shape + (5,)), res.status.reshape(shape),
            res.fun.reshape(shape))


def fit_cube_apply_ufunc(cube):
    """The same fits through xarray.apply_ufunc(dask="parallelized")."""
    params, status, fun = xr.apply_ufunc(
        _fit_block, cube, input_core_dims=[["time"]],
        output_core_dims=[["param"], [], []], dask="parallelized",
        output_dtypes=[float, np.int64, float],
        dask_gufunc_kwargs={"output_sizes": {"param": 5}})
    return xr.Dataset({"params": params, "status": status, "fun": fun},
                      coords={"param": PARAMS})


def plot(fits, truth, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    fig, axes = plt.subplots(2, 3, figsize=(12, 7.5))
    for ax, name in zip(axes.flat, PARAMS):
        lo, hi = np.nanpercentile(truth.sel(param=name), [0, 100])
        # pixels whose fit did not converge (dead: NaN data) left blank
        im = ax.imshow(fits.params.sel(param=name).where(fits.status == 0),
                       vmin=lo, vmax=hi, cmap="viridis")
        ax.set_title(f"{name} (fit)")
        fig.colorbar(im, ax=ax, shrink=0.8)
    ax = axes.flat[-1]
    im = ax.imshow(fits.status, vmin=-0.5, vmax=2.5,
                   cmap=ListedColormap(["#4caf50", "#ffc107", "#d32f2f"]))
    bar = fig.colorbar(im, ax=ax, shrink=0.8, ticks=[0, 1, 2])
    bar.ax.set_yticklabels(["0 converged", "1 limit", "2 abnormal"])
    ax.set_title("solver status")
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    ny, nx = fits.status.shape
    fig.suptitle(f"{ny} x {nx} bi-exponential fits, one per pixel "
                 f"(lbfgsb_numba on Dask)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=512,
                        help="image side in pixels (default 512)")
    parser.add_argument("--cluster", action="store_true",
                        help="run on a distributed.LocalCluster")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on the cluster at this scheduler address")
    parser.add_argument("--apply-ufunc", action="store_true",
                        help="fit through xarray.apply_ufunc instead")
    parser.add_argument("--png", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)),
        "xarray_per_pixel_fits.png"))
    args = parser.parse_args(argv)
    client = None
    if args.cluster or args.scheduler:
        import distributed
        client = (distributed.Client(args.scheduler) if args.scheduler else
                  distributed.Client(n_workers=os.cpu_count(),
                                     threads_per_worker=1))
        importable_on_workers(client)
        print(f"cluster: {client.dashboard_link or client.scheduler.address}")
    try:
        cube, truth = synthetic_cube(args.size)
        fits = (fit_cube_apply_ufunc if args.apply_ufunc else fit_cube)(cube)
        print(f"{args.size} x {args.size} pixels x {T.size} time points, "
              f"{cube.data.numblocks[0]} chunks")
        t0 = time.perf_counter()
        fits = fits.compute()
        seconds = time.perf_counter() - t0
    finally:
        if client is not None:
            client.close()
    k = args.size * args.size
    print(f"{k} fits in {seconds:.1f} s ({k / seconds:,.0f} fits/s, first "
          f"compilation included)")
    status = fits.status.values
    for code, name in enumerate(STATUS_NAMES):
        print(f"  status {code} ({name}): {int((status == code).sum())}")
    good = status == 0
    for name in ("k_fast", "k_slow"):
        err = np.abs(fits.params.sel(param=name).values[good]
                     / truth.sel(param=name).values[good] - 1)
        print(f"  {name}: median relative error {np.median(err):.2%}")
    try:
        plot(fits, truth, args.png)
    except ImportError:
        print("matplotlib is not installed: no PNG")
        return fits
    print(f"maps saved to {args.png}")
    return fits


if __name__ == "__main__":
    main()
