import os
import sys

# the problem suite module lives next to the tests
sys.path.insert(0, os.path.dirname(__file__))
# the benchmark problems (``benchmarks.problems``) live beside the asv suite
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "asv_benchmarks"))
