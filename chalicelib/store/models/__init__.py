"""Each module here holds one area's records.

A store imports only its own area's module, so a first request loads only the records it uses;
`store.base.record_classes()` imports every module here when all records are wanted (table
descriptions, the erasure plan, the residual scan), so a new module needs no registration anywhere.
"""
