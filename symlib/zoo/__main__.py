"""``python -m symlib.zoo``: build or inspect a named zoo (:mod:`symlib.zoo.cli`). Missing data, a missing zoo and a
recipe's unmet bar end the command with one line on stderr (exit status 1), not a traceback."""
import sys

from ..data import DatasetNotFound
from .builder import MissingZoo
from .cli import main

try:
    main(sys.argv[1:])
except (DatasetNotFound, MissingZoo, ValueError) as err:
    sys.exit(f"python -m symlib.zoo: {err}")
