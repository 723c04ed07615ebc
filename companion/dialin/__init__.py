"""Phone dial-in (issue 17, docs/dial-in.md): a client with no broadband joins their session
from any phone. This package is the app's side: whether a program offers it, the clients' PINs,
identifying a caller within limits, the call flow the SIP engine drives, and its prompts. The
engine (Janus's SIP plugin bridged to the room's media) sits beside them in ``engine*.py``."""
