"""Every use of aiortc's and aioice's internals, in one module, for the versions in WRITTEN_FOR.

The worker forwards encoded media and mixes audio itself, which aiortc's public API does not
allow, so it reaches into both libraries: name-mangled attributes of receivers and senders,
a transceiver's codec list, modules outside ``aiortc.__all__`` (the SDP parser, the codecs, the
jitter buffer's frame), and three replacements (aioice's host addresses and consent checks,
the codec classes' constructors). Those can change in any release, and mostly not with an error
but with media that silently stops, so they are all here, and the worker's start-up refuses to
run on other versions (:func:`check_versions`). pyproject.toml pins the same versions; moving to
new ones means reading this module against their source, then changing WRITTEN_FOR and the pins.

What aiortc 1.16 does that the hooks rely on (docs/media.md, "Forwarding hook"):

* ``RTCRtpReceiver._handle_rtp_packet`` depayloads each packet into ``packet._data``, reassembles
  frames in ``__jitter_buffer`` and puts ``(codec, JitterFrame)`` on ``__decoder_queue`` (a
  ``queue.Queue`` read by a decoder thread started with the receiver, ``__decoder_thread``);
* ``RTCRtpSender._next_encoded_frame`` calls ``__encoder.pack(data)`` for anything that is not an
  ``av.Frame``, and builds an encoder only when ``__encoder`` is None; a subscriber's PLI/FIR
  calls ``sender._send_keyframe()``;
* ``RTCRtpTransceiver._codecs`` is what the answer will offer, once the remote offer is set.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Collection, Coroutine
from typing import Any

import aioice.ice
from aioice import stun
from aiortc import RTCRtpCodecParameters
from aiortc import sdp as aiortc_sdp
from aiortc.codecs import h264, opus, vpx
from aiortc.jitterbuffer import JitterFrame as JitterFrame  # re-exported for forward.py

WRITTEN_FOR = {"aiortc": "1.16.0", "aioice": "0.13.0"}
"""The versions whose internals this module was written against (pinned in pyproject.toml)."""

StunTransactionError = stun.TransactionError


class IncompatibleLibraries(RuntimeError):
    """aiortc or aioice is not the version this module was written for."""


def check_versions(version_of: Callable[[str], str] | None = None) -> None:
    """Refuse versions of aiortc and aioice other than WRITTEN_FOR (start-up of a worker).
    ``version_of(name)`` says what is installed (importlib.metadata's, unless a test's)."""
    version_of = version_of or importlib.metadata.version
    wrong = []
    for name, wanted in WRITTEN_FOR.items():
        try:
            installed = version_of(name)
        except importlib.metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed (needs {wanted})")
            continue
        if installed != wanted:
            wrong.append(f"{name} {installed} is installed (needs {wanted})")
    if wrong:
        wanted_all = " and ".join(f"{name} {v}" for name, v in WRITTEN_FOR.items())
        raise IncompatibleLibraries(
            f"{'; '.join(wrong)}. The media worker uses internals of exactly {wanted_all} "
            "(companion/media/compat.py): install the pinned versions (pip install -r "
            "requirements.lock), or port compat.py to the installed ones and change its pins")


# --- receivers ------------------------------------------------------------------------------


def replace_decoder_queue(receiver: Any, queue: Any) -> None:
    """Give ``receiver`` another decoder queue; only before it starts (its thread holds the
    queue it was started with)."""
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("the decoder queue must be replaced before the receiver starts")
    if not hasattr(receiver, "_RTCRtpReceiver__decoder_queue"):
        raise RuntimeError("unsupported aiortc version: RTCRtpReceiver has no decoder queue")
    receiver._RTCRtpReceiver__decoder_queue = queue


def replace_jitter_buffer(receiver: Any, buffer: Any) -> None:
    """Give ``receiver`` another jitter buffer (``add(packet) -> (pli, JitterFrame | None)``)."""
    if not hasattr(receiver, "_RTCRtpReceiver__jitter_buffer"):
        raise RuntimeError("unsupported aiortc version: RTCRtpReceiver has no jitter buffer")
    receiver._RTCRtpReceiver__jitter_buffer = buffer


def depayloaded(packet: Any) -> bytes:
    """An RTP packet's payload once the receiver stripped the codec's payload descriptor."""
    data: bytes = packet._data
    return data


def rtx_ssrcs(receiver: Any) -> Collection[int]:
    """The SSRCs a receiver knows as retransmissions (no keyframe requests go to those)."""
    return getattr(receiver, "_RTCRtpReceiver__rtx_ssrc", {})


def send_pli(receiver: Any, ssrc: int) -> Coroutine[Any, Any, None]:
    """Ask the sender of ``ssrc`` for a keyframe (RTCP PLI) through ``receiver``."""
    return receiver._send_rtcp_pli(ssrc)


# --- senders and transceivers ---------------------------------------------------------------


def replace_encoder(sender: Any, packer: Any) -> None:
    """Give ``sender`` an object with ``pack(frame) -> (payloads, timestamp)`` as its encoder:
    no encoder is built for it, and what its track hands on is packetized as it is."""
    if not hasattr(sender, "_RTCRtpSender__encoder"):
        raise RuntimeError("unsupported aiortc version: RTCRtpSender has no encoder slot")
    sender._RTCRtpSender__encoder = packer


def route_keyframe_requests(sender: Any, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the remote side asks ``sender`` for a keyframe (PLI/FIR)."""
    sender._send_keyframe = callback


def codecs_of(transceiver: Any) -> list[RTCRtpCodecParameters]:
    """The codecs a transceiver's answer will offer (after setRemoteDescription)."""
    return list(transceiver._codecs)


def keep_codecs(transceiver: Any, codecs: list[RTCRtpCodecParameters]) -> None:
    """Answer with only ``codecs`` on this transceiver (before createAnswer); or, after an
    answer was set, receive these (the receiver is set up from the list once connected)."""
    transceiver._codecs = codecs


def intercept_payload_type(receiver: Any, payload_type: int,
                           handle: Callable[[bytes, int], None]) -> None:
    """Hand ``receiver``'s RTP packets of ``payload_type`` to ``handle(payload, timestamp)``
    instead of its decoder: aiortc has no decoder for telephone events (RFC 4733), and one it
    looked up for them would stop the receiver. Other packets go on as before."""
    original = receiver._handle_rtp_packet

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        if packet.payload_type == payload_type:
            handle(packet.payload, packet.timestamp)
            return
        await original(packet, arrival_time_ms=arrival_time_ms)

    receiver._handle_rtp_packet = handle_rtp_packet


def vp8_packetize(frame: bytes, picture_id: int) -> list[bytes]:
    """RTP payloads (with VP8 payload descriptors) for one encoded VP8 frame."""
    return vpx.Vp8Encoder._packetize(frame, picture_id)


def media_directions(sdp: str) -> dict[str, str]:
    """``mid -> direction`` of each media section of an offer; ValueError when unreadable."""
    try:
        parsed = aiortc_sdp.SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises whatever it trips on
        raise ValueError("unreadable SDP") from exc
    return {m.rtp.muxId or "": m.direction or "inactive" for m in parsed.media}


def offered_codecs(sdp: str, kind: str) -> list[RTCRtpCodecParameters]:
    """Every codec an SDP's first ``kind`` section lists, known to aiortc or not."""
    parsed = aiortc_sdp.SessionDescription.parse(sdp)
    for media in parsed.media:
        if media.kind == kind:
            return list(media.rtp.codecs)
    return []


# --- codec instance counts ------------------------------------------------------------------
# The worker must build no video encoder or decoder at all (video is forwarded): every codec
# instance aiortc builds in this process is counted, and `ping` reports the counts.
CODEC_COUNTS: dict[str, int] = {}


def _count_instances(cls: type) -> None:
    if getattr(cls, "_companion_counted", False):
        return
    original = cls.__init__  # type: ignore[misc]
    name = cls.__name__
    CODEC_COUNTS.setdefault(name, 0)

    def counted_init(self: Any, *args: Any, **kwargs: Any) -> None:
        CODEC_COUNTS[name] += 1
        original(self, *args, **kwargs)

    cls.__init__ = counted_init  # type: ignore[misc]
    cls._companion_counted = True  # type: ignore[attr-defined]


def install_codec_counters() -> None:
    """Count the instances of aiortc's codec classes from now on (in ``CODEC_COUNTS``)."""
    for cls in (vpx.Vp8Encoder, vpx.Vp8Decoder, h264.H264Encoder, h264.H264Decoder,
                opus.OpusEncoder, opus.OpusDecoder):
        _count_instances(cls)


# --- aioice ---------------------------------------------------------------------------------


def install_host_addresses(addresses: list[str]) -> None:
    """Make aioice offer exactly these host candidates (it never offers 127.0.0.1 itself)."""
    v4 = [a for a in addresses if ":" not in a]
    v6 = [a for a in addresses if ":" in a]

    def get_host_addresses(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
        return (v4 if use_ipv4 else []) + (v6 if use_ipv6 else [])

    aioice.ice.get_host_addresses = get_host_addresses


def install_consent_check(query_consent: Callable[[Any], Coroutine[Any, Any, None]]) -> None:
    """Run ``query_consent(connection)`` as every aioice connection's consent task."""
    if not hasattr(aioice.ice.Connection, "query_consent"):
        raise RuntimeError("unsupported aioice version: no Connection.query_consent")
    aioice.ice.Connection.query_consent = query_consent  # type: ignore[method-assign,assignment]


def nominated_pairs(connection: Any) -> list[Any]:
    """An aioice connection's nominated candidate pairs (one per component)."""
    return list(connection._nominated.values())


def consent_task_ended(connection: Any) -> None:
    """Tell an aioice connection its consent task is over (so close() does not cancel it)."""
    connection._query_consent_task = None
