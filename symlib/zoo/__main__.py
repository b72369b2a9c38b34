"""``python -m symlib.zoo``: build or inspect a named zoo (:mod:`symlib.zoo.cli`)."""
import sys

from .cli import main

main(sys.argv[1:])
