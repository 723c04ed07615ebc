"""Phone dial-in (docs/dial-in.md): a client with no data joins a session from any phone.

The SIP side is Janus's SIP plugin (``janus.py`` talks to it); a call's audio reaches Companion
as a WebRTC leg that ``phone_leg.py`` answers with G.711, and its keys arrive as telephone events
or SIP INFO (``dtmf.py``).
"""
