"""What a decoder link may reach: decoders, not the host's own services or the cloud's metadata.

A decoder URL comes from the timing crew's page (a timing token), so it must not become a way to
read a file (`serial:///etc/passwd`), talk to a service that listens on the loopback only, or
reach link-local and cloud metadata addresses (`p3tcp://169.254.169.254:80`). Decoders sit on the
track's LAN (192.168.x.x, 10.x.x.x...) or on a serial port, and those are allowed:

- serial links: only serial devices, `/dev/tty<letters>...` (ttyS0, ttyUSB0, ttyACM0, ttyAMA0;
  not the consoles /dev/tty and /dev/ttyN), `/dev/serial/...`, `COMn`;
- network links: never loopback (127.0.0.0/8, ::1, `localhost`), unspecified (0.0.0.0, ::),
  link-local (169.254.0.0/16, fe80::/10: the metadata address is one), multicast or broadcast,
  nor the other cloud metadata addresses. A host name is resolved and every address checked,
  when the link is made and again before each connection (a name may change what it points to).

Only the service's own configuration widens this (`boucle serve --allow-decoder 127.0.0.1`, a
decoder emulator on the same laptop; `--allow-decoder /dev/pts/` for pseudo-terminals; a decoder
named with `--decoder` on the command line is allowed by naming it). A token never can.

Also here: `mask_url`, the one way a decoder URL is shown (logs, status, API answers) without
its password.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket
import stat
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import unquote, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SERIAL_DEVICE = re.compile(r"/dev/tty[A-Za-z][\w.\-]*|/dev/serial/[\w.:\-/]+|/dev/cu\.[\w.\-]+|COM\d{1,3}")
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "fd00:ec2::254",  # AWS, Azure, GCP, OpenStack...; AWS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure's host services
    )
)
RESOLVE_TIMEOUT = 5.0


class ReachRefused(ValueError):
    """A decoder URL this service will not open (a 403 for a caller: service/http_errors.py maps the
    class; `decoders` imports no service code, so the catalogue code and params are plain attributes)."""

    def __init__(self, code: str, **params: str) -> None:
        self.code, self.params = code, params
        super().__init__(f"{code}: {params}")


def mask_url(url: str) -> str:
    """`mqtt://user:secret@host/x` -> `mqtt://user:***@host/x` (and a password-only `:p@` too)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"(//[^/@:]*):[^/@]*@", r"\1:***@", url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


def forbidden_why(addr: Address) -> str | None:
    """Why an address is not a decoder's (a short word for the refusal), or None when it may be."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr in METADATA:
        return "metadata"
    if addr.is_loopback:
        return "loopback"
    if addr.is_unspecified:
        return "unspecified"
    if addr.is_link_local:
        return "link-local"
    if addr.is_multicast or addr == ipaddress.IPv4Address("255.255.255.255"):
        return "multicast/broadcast"
    return None


class DecoderReach:
    """The service's policy for decoder links, with what its configuration allows beyond it.

    `allow`: host names, addresses or networks (`127.0.0.1`, `::1`, `10.9.0.0/16`, `localhost`)
    and device paths or prefixes ending in `/` (`/dev/pts/`) the admin allows.
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[Network] = []
        self.devices: set[str] = set()
        for item in allow:
            self.allow(item)

    def allow(self, item: str) -> None:
        item = item.strip()
        if not item:
            return
        if item.startswith("/") or SERIAL_DEVICE.fullmatch(item):
            self.devices.add(item)
            return
        try:
            net = ipaddress.ip_network(item.strip("[]"), strict=False)
        except ValueError:
            self.hosts.add(item.lower().rstrip("."))
            return
        self.networks.append(net)
        if net.network_address.is_loopback:  # the loopback is one place, whichever way it is written
            self.networks += [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128")]

    def allow_url(self, url: str) -> None:
        """Allow what a URL names (a decoder the admin put on the command line)."""
        parts = urlsplit(url)
        if parts.scheme.lower() == "serial":
            self.allow(unquote(parts.netloc + parts.path))
        elif parts.hostname:
            self.allow(parts.hostname)

    # -- the checks ------------------------------------------------------------------------------
    def _address_allowed(self, addr: Address) -> bool:
        plain = addr.ipv4_mapped if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped else addr
        return any(plain in net or addr in net for net in self.networks)

    def check_device(self, device: str) -> None:
        """A serial link's device: a serial port, or a path the admin allowed."""
        path = device if SERIAL_DEVICE.fullmatch(device) else os.path.normpath(device)
        allowed = self._device_allowed(path)
        if not allowed:
            raise ReachRefused("decoder.reach_device", device=device)
        if os.path.exists(path):  # not plugged in yet is fine: the link opens it when it appears
            real = os.path.realpath(path)
            if not (self._device_allowed(real) and stat.S_ISCHR(os.stat(real).st_mode)):
                raise ReachRefused("decoder.reach_device", device=device)

    def _device_allowed(self, path: str) -> bool:
        if ".." in path.split("/"):
            return False
        if SERIAL_DEVICE.fullmatch(path):
            return True
        return any(path == d or (d.endswith("/") and path.startswith(d)) for d in self.devices)

    def check_address(self, host: str, addr: Address) -> None:
        why = forbidden_why(addr)
        if why is not None and not self._address_allowed(addr) and host.lower().rstrip(".") not in self.hosts:
            raise ReachRefused("decoder.reach_address", host=host, address=str(addr), why=why)

    async def check_host(self, host: str, port: int, strict: bool) -> None:
        """Every address `host` stands for may be a decoder's. A name that does not resolve passes
        unless `strict` (then it is an OSError): it is checked again when the link connects."""
        name = host.lower().rstrip(".")
        if name in self.hosts:
            return
        try:
            literal = ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            literal = None
        if literal is not None:
            self.check_address(host, literal)
            return
        if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always the loopback
            self.check_address(host, ipaddress.ip_address("127.0.0.1"))
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, TimeoutError):
            if strict:
                raise
            return
        for *_, sockaddr in infos:
            self.check_address(host, ipaddress.ip_address(sockaddr[0].split("%")[0]))

    async def check(self, url: str) -> None:
        """Refuse (ReachRefused) a decoder URL that names what a decoder link may not reach."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "serial":
            self.check_device(unquote(parts.netloc + parts.path))
        elif parts.hostname:
            await self.check_host(parts.hostname, parts.port or 0, strict=False)

    def guard(self, url: str) -> Callable[[], Awaitable[None]] | None:
        """What a source awaits before each connection (decoders/source.py `Source.guard`)."""
        parts = urlsplit(url)
        if parts.scheme.lower() == "serial":
            device = unquote(parts.netloc + parts.path)

            async def device_guard() -> None:
                self._refuse_as_os_error(lambda: self.check_device(device))

            return device_guard
        if not parts.hostname:
            return None
        host, port = parts.hostname, parts.port or 0

        async def host_guard() -> None:
            try:
                await self.check_host(host, port, strict=False)
            except ReachRefused as exc:
                raise PermissionError(f"decoder link refused: {exc.params}") from None

        return host_guard

    @staticmethod
    def _refuse_as_os_error(check: Callable[[], None]) -> None:
        try:
            check()
        except ReachRefused as exc:  # the source logs it and retries later, like a refused connection
            raise PermissionError(f"decoder link refused: {exc.params}") from None
