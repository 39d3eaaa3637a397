"""Listen V1 under its SDK import path; the classes are in :mod:`actors.listen.v1.types`."""
