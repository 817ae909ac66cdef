"""The one record every decoder adapter yields, whatever its protocol.

Times stay integer microseconds on the decoder's own clock; the service maps each decoder's
clock to the session clock with a per-decoder offset (spec/p3.md, "Clock"). A decoder that stamps
reads with a date and time of day (Race Result, Wiclax, Protime) gives `rtc_time_us` as that naive
local date-time counted in microseconds from 1970-01-01 00:00 as if it were UTC (time of day only:
on the host's date, the one nearest to now); the service's clock alignment takes any offset,
time zone included, so no source converts time zones.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Passing:
    """A single read of one transponder by one decoder (RULES.md section 0, "Passing")."""

    decoder_id: str  # lowercase hex of the P3 decoder id bytes, or the MQTT topic's decoder id
    transponder: str  # numeric transponder as a decimal string, else the transponder code
    rtc_time_us: int  # decoder clock, microseconds
    passing_number: int | None = None  # per-decoder sequence number, when the protocol has one
    strength: int | None = None
    hits: int | None = None
    flags: int | None = None
    loop: str | None = None  # set by sources that know it (MQTT payload); else from service config
    source: str = ""  # which connection produced it, e.g. "p3tcp://127.0.0.1:5403"
    live: bool = True  # False: sent again from the decoder's memory (resend, rewind, stored), so its
    # arrival time says nothing about when it was read (clock alignment ignores it)
    epoch: int = 1  # numbering epoch: a decoder that reboots numbers again from 1 in a new epoch


@dataclass(slots=True)
class DecoderStatus:
    """What the timing crew sees of one decoder connection."""

    source: str
    state: str = "disconnected"  # connected | reconnecting | disconnected | stopped
    decoder_id: str | None = None
    last_passing_us: int | None = None
    passings: int = 0
    duplicates: int = 0
    noise: int | None = None
    temperature: int | None = None
    reconnects: int = 0
    gaps_detected: int = 0
    gaps_recovered: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None
    gps: int | None = None
    input_voltage: int | None = None
    clock_offset_us: int | None = None  # decoder UTC minus RTC, from its GET_TIME answer
    clock_decoder_us: int | None = None  # the decoder's clock as it last reported it (GET_TIME, status,
    clock_host_us: int | None = None  # CLOCK...), and the host's wall clock when that report arrived
    passings_lost: int = 0  # missed passings given up on (never resent)
    passings_recovered: int = 0  # missed passings that came back by RESEND
    recovering: int = 0  # missed passings asked for and not back yet
    # what the Protime, Race Result and Wiclax decoders report besides passings (docs/decoders.md)
    firmware: str | None = None  # the decoder's firmware (Protime configuration) or protocol version
    channel_noise: dict[str, int] = field(default_factory=dict)  # noise per channel (Protime STA, BOX)
    levels: dict[str, int] = field(default_factory=dict)  # detection level per channel (Protime)
    low_battery: dict[str, float | None] = field(default_factory=dict)  # transponder -> its reading (V,
    # %, None for a flag) when its last read said the battery is low; the newest few only
    decoder_battery: int | None = None  # the decoder's own battery charge, percent (Race Result)
    markers: int = 0  # marker reads (Race Result transponder 99999...): not competitors
    triggers: int = 0  # manual and photocell triggers (Protime MAN, photocell): no transponder
    unstored: int = 0  # reads the service could not store (log not writable): to be fetched again
    reboots: int = 0  # numbering restarts seen (each starts a new epoch)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "state": self.state,
            "decoder_id": self.decoder_id,
            "last_passing_us": self.last_passing_us,
            "passings": self.passings,
            "duplicates": self.duplicates,
            "noise": self.noise,
            "temperature": self.temperature,
            "reconnects": self.reconnects,
            "gaps_detected": self.gaps_detected,
            "gaps_recovered": self.gaps_recovered,
            "rejected": dict(self.rejected),
            "last_error": self.last_error,
            "gps": self.gps,
            "input_voltage": self.input_voltage,
            "clock_offset_us": self.clock_offset_us,
            "clock_decoder_us": self.clock_decoder_us,
            "clock_host_us": self.clock_host_us,
            "passings_lost": self.passings_lost,
            "passings_recovered": self.passings_recovered,
            "recovering": self.recovering,
            "firmware": self.firmware,
            "channel_noise": dict(self.channel_noise),
            "levels": dict(self.levels),
            "low_battery": dict(self.low_battery),
            "decoder_battery": self.decoder_battery,
            "markers": self.markers,
            "triggers": self.triggers,
            "unstored": self.unstored,
            "reboots": self.reboots,
        }
