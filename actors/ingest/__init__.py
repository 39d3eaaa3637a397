"""The ingestion service: live calls from contact-center platforms to durable transcripts.

Layout (each part sans-I/O where it can be, driven by the service's server):

* :mod:`actors.ingest.calls` -- the platform-neutral call model every ingress produces
  (``CallStart``, ``CallAudio``, ``CallPaused``, ``CallResumed``, ``CallEnd``).
* :mod:`actors.ingest.store` -- the durable transcript store (SQLite, PostgreSQL).
* :mod:`actors.ingest.audiohook` -- Genesys Cloud AudioHook (signatures, session state machine,
  Transcription Connector events).
* :mod:`actors.ingest.twilio` -- Twilio Media Streams; :mod:`actors.ingest.plain` -- the plain
  ``/v1/stream`` ingress.
"""
