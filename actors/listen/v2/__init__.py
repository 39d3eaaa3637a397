"""Listen V2 (Flux) under its SDK import path; the classes are in :mod:`actors.listen.v2.types`."""
