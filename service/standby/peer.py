"""What the standby's parts see of this machine's `Node` (node.py), as protocols.

`Node` owns the follower (follower.py), the listen-only links (listen.py) and serves the log stream
(stream.py); they are handed the node and read its role, epoch and peers back. Typed against these
protocols, none of them imports node.py, so the package has no import cycle (tests/test_architecture.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from service.sessions.live import LiveSession
    from service.sessions.manager import Manager


class Copying(Protocol):
    """The follower, as the listen-only links ask it whether the copy is level with the primary."""

    connected: bool

    def lines_behind(self) -> int: ...


class Holding(Protocol):
    """The listen-only links, as the follower tells them what the copy now holds."""

    def sync(self, s: LiveSession) -> None: ...

    def copied(self, s: LiveSession, texts: list[str]) -> None: ...

    def copied_aside(self, s: LiveSession, keys: list[str | None]) -> None: ...

    def drop(self, s: LiveSession) -> None: ...


class NodeView(Protocol):
    """This machine's role, epoch and peers (`Node`), as its follower, links and log stream read them."""

    mgr: Manager
    token: str
    node_id: str
    role: str
    epoch: int
    skew_us: int
    followers: dict[str, dict[str, Any]]

    @property
    def follower(self) -> Copying | None: ...

    @property
    def listening(self) -> Holding | None: ...

    @property
    def writable(self) -> bool: ...

    def save(self) -> None: ...

    def protect(self, session: LiveSession) -> None: ...

    def add_peer(self, url: str | None) -> None: ...

    def my_url(self, peer: str | None = None) -> str: ...
