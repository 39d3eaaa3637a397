"""Speak V2 (Flux TTS) under its SDK import path; the classes are in :mod:`actors.speak.v2.types`."""
