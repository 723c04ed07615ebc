"""Janus's configuration for the dial-in line, written into a folder of the instance and started
with ``janus -F <folder>``: only the SIP plugin and the HTTP transport, the API on loopback.

Janus's own ``/etc/janus`` stays untouched, so a Janus the clinic runs for something else is not
changed by Companion.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

_PLUGINS = ("audiobridge duktape echotest lua nosip recordplay streaming textroom videocall "
            "videoroom voicemail").split()
_TRANSPORTS = "mqtt nanomsg pfunix rabbitmq websockets".split()
_EVENTS = "gelfevh mqttevh nanomsgevh rabbitmqevh sampleevh wsevh".split()
LIB = "/usr/lib/x86_64-linux-gnu/janus"


@dataclass(frozen=True)
class JanusSettings:
    api_port: int = 8088
    sip_ip: str = "127.0.0.1"  # the address the trunk reaches Janus's SIP and RTP at
    sip_rtp_ports: str = "41000-42000"  # toward the trunk: open these (UDP) to its media
    webrtc_ports: str = "20000-21000"  # toward Companion, loopback only
    ice_ip: str = ""  # the address Janus gathers its WebRTC candidates on ("" = any)
    debug_level: int = 3


def _disabled(names: list[str], prefix: str) -> str:
    return ",".join(f"lib{prefix}{name}.so" for name in names)


def write(folder: Path, settings: JanusSettings) -> Path:
    """Write the configuration into ``folder`` (made if missing) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    enforce = f'\n\tice_enforce_list = "{settings.ice_ip}"' if settings.ice_ip else ""
    (folder / "janus.jcfg").write_text(f"""general: {{
\tplugins_folder = "{LIB}/plugins"
\ttransports_folder = "{LIB}/transports"
\tevents_folder = "{LIB}/events"
\tloggers_folder = "{LIB}/loggers"
\tdebug_level = {settings.debug_level}
\tsession_timeout = 60
\tserver_name = "Companion"
}}
media: {{
\tipv6 = false
\trtp_port_range = "{settings.webrtc_ports}"
}}
nat: {{
\tignore_mdns = true{enforce}
}}
plugins: {{
\tdisable = "{_disabled(_PLUGINS, "janus_")}"
}}
transports: {{
\tdisable = "{_disabled(_TRANSPORTS, "janus_")}"
}}
loggers: {{
\tdisable = "libjanus_jsonlog.so"
}}
events: {{
\tbroadcast = false
\tdisable = "{_disabled(_EVENTS, "janus_")}"
}}
""")
    (folder / "janus.transport.http.jcfg").write_text(f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {settings.api_port}
\tip = "127.0.0.1"
\thttps = false
\tacl = "127."
}}
admin: {{
\tadmin_http = false
\tadmin_https = false
}}
""")
    # The display name and user agent say nothing about what the line is for.
    (folder / "janus.plugin.sip.jcfg").write_text(f"""general: {{
\tlocal_ip = "{settings.sip_ip}"
\tkeepalive_interval = 120
\tbehind_nat = false
\tuser_agent = "Companion"
\tregister_ttl = 3600
\trtp_port_range = "{settings.sip_rtp_ports}"
\tevents = false
}}
""")
    return folder
