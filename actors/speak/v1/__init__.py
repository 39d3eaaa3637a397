"""Speak V1 under its SDK import path; the classes are in :mod:`actors.speak.v1.types`."""
