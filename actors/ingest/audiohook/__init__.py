"""Genesys Cloud AudioHook, sans-I/O (the AudioHook protocol).

* :mod:`.signatures` -- HTTP Message Signature verification (and a signer) for the upgrade request.
* :mod:`.messages` -- the JSON message envelope and catalogue: parse client messages, build server ones.
* :mod:`.session` -- the server-side session state machine: frames in, call events and frames out.
* :mod:`.transcripts` -- Transcription Connector ``event`` entities built from final segments.

Nothing here opens sockets, starts threads or reads the clock: the caller passes bytes, text and the
current time in, and sends what comes out.
"""
