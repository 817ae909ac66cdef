"""Hot standby: a second machine that follows the primary's log and takes over (docs/standby.md).

- `node.py`: this machine's role (primary or standby), its epoch and its peers, kept in
  `DATA/node.json`; the write fence every session and every HTTP write asks.
- `stream.py`: the primary's side: `/ws/log`, every committed line of every session (and their
  meta and kept-aside reads) streamed to a follower from where it says it is.
- `follower.py`: the standby's side: the copy, resumed after any cut, with its lag.
- `listen.py`: the standby's listen-only decoder links and the raw reads they hold.
- `promote.py`: promotion (commit what the primary never did, resume the decoders) and fencing.
- `peer.py`: what the follower, the links and the stream see of the node (protocols: no import cycle).
- `api.py`: the routes (`GET /api/standby`, `POST /api/promote`, `POST /api/standby/fence`) and the
  middleware that refuses writes on a machine that is not the primary.
"""

from service.standby.api import install

__all__ = ["install"]
