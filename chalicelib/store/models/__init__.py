"""Importing this package registers every record class (see `Record.__init_subclass__`).

Each module here holds one area's records; every module is imported, so a new one needs no
registration anywhere else.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
