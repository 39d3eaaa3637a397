"""Twilio Media Streams ingress, sans-I/O: upgrade signatures, the message catalogue, the session.

* :mod:`actors.ingest.twilio.signature` -- ``X-Twilio-Signature`` validation of the WebSocket upgrade.
* :mod:`actors.ingest.twilio.messages` -- parsing Twilio's JSON messages, serializing ours.
* :mod:`actors.ingest.twilio.session` -- the state machine turning a stream into call-model events.
"""
