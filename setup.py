"""Build hook: after the package's files are in place, compile the solver's
kernels ahead of time (``lbfgsb_numba/precompiled.py``), so that the first
use after installing loads them instead of compiling for tens of seconds.
Everything else is declared in ``pyproject.toml``.

If this step fails (no Numba in the build environment, ...) the install
goes on without the file: the kernels are then compiled on first use, as
Numba does by default.
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
BUILD = ("import sys; from lbfgsb_numba.build_kernels import main; "
         "sys.exit(main(sys.argv[1:]))")


class BuildPyAndKernels(build_py):
    """``build_py``, then ``lbfgsb-numba-precompile`` into the package
    (the source tree for an editable install, the build tree otherwise)."""

    def run(self):
        super().run()
        package = (ROOT if getattr(self, "editable_mode", False)
                   else Path(self.build_lib)) / "lbfgsb_numba"
        target = package / "_precompiled" / "kernels.pkl"
        print("lbfgsb_numba: compiling the solver's kernels ahead of time "
              "(about a minute)...", file=sys.stderr, flush=True)
        # keep pip's build environment (on PYTHONPATH) behind the sources
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "")
                           .split(os.pathsep) if p]))
        try:
            code = subprocess.call([sys.executable, "-c", BUILD, str(target)],
                                   cwd=ROOT, env=env)
        except OSError as error:
            code = error
        if code != 0:
            print(f"lbfgsb_numba: kernels not precompiled ({code}); they "
                  "will compile on first use", file=sys.stderr)


setup(cmdclass={"build_py": BuildPyAndKernels})
