"""The local cloud: moto, the Chalice handlers as Lambda functions, the emulators and the sweeper
in one process. `python -m infra.localcloud` runs it; tests import the pieces."""
