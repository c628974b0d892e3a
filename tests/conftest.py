import os
import sys

# the problem suite module lives next to the tests
sys.path.insert(0, os.path.dirname(__file__))
