"""Phone dial-in (issue 17, docs/dial-in.md): a client with no broadband joins their session
from any phone.

The app's side: whether a program offers it, the clients' PINs, identifying a caller within
limits, the call flow the line drives, and its prompts. The line's side: Janus's SIP plugin
(``janus.py`` talks to it, ``sip_line.py`` takes the calls), each call's audio answered as a
WebRTC leg with G.711 (``phone_leg.py``), and its keys from telephone events or SIP INFO
(``dtmf.py``).
"""
