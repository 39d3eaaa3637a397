"""The plain ``/v1/stream`` WebSocket ingress (our own protocol), sans-I/O: see :mod:`.session`."""
