"""The README's Python example runs as written and prints the output the
README shows."""
import contextlib
import io
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(__file__)),
                      "README.md")


def _use_example():
    """(code, expected stdout) of the first Python block of "## Use" and
    the text block after it."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    use = text[text.index("\n## Use\n"):]
    code = re.search(r"```python\n(.*?)```", use, re.S)
    shown = re.search(r"```text\n(.*?)```", use[code.end():], re.S)
    return code.group(1), shown.group(1)


def test_readme_use_example_prints_what_the_readme_shows():
    pytest.importorskip("scipy")
    code, shown = _use_example()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    assert out.getvalue() == shown
