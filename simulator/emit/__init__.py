"""Real-time playback of a generated race through the real decoder protocols (P3 TCP, serial, MQTT).

`base` holds what every target shares (Feed, SimPassing, Target), `targets` the targets by URL
scheme, `player` the clock that plays a race on them. The targets import `base`, never this
package, so there is no import cycle; this package only re-exports the public names.
"""

from simulator.emit.base import Feed, SimPassing, Target, build_feeds
from simulator.emit.player import play
from simulator.emit.targets import make_target

__all__ = ["Feed", "SimPassing", "Target", "build_feeds", "make_target", "play"]
