"""The TCP sockets listening inside a container, read from its /proc/net/tcp{,6}: how the grader
tells a web app that listens on 127.0.0.1 or on the wrong port from one that is still starting."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
DOCKER_DNS = "127.0.0.11"  # Docker's embedded DNS server listens in every container of a user network


@dataclass(frozen=True)
class Listener:
    address: str  # "0.0.0.0", "127.0.0.1", "::", "::1" ...
    port: int

    @property
    def everywhere(self) -> bool:
        """Bound to every interface, so other containers and the host can connect."""
        return self.address in ("0.0.0.0", "::")

    @property
    def loopback_only(self) -> bool:
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if ":" in self.address else f"{self.address}:{self.port}"


def _hex_address(text: str) -> str | None:
    """An address of /proc/net/tcp{,6}: 32-bit words in host (little-endian) byte order."""
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        return None
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw[::-1]))
    if len(raw) == 16:
        address = ipaddress.IPv6Address(b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4)))
        return str(address.ipv4_mapped) if address.ipv4_mapped else str(address)
    return None


def parse_listeners(proc_net_tcp: str) -> list[Listener]:
    """The listening TCP sockets in the text of /proc/net/tcp and /proc/net/tcp6 (any order),
    without Docker's own DNS server."""
    found: list[Listener] = []
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != _LISTEN or ":" not in fields[1]:
            continue
        address_hex, _, port_hex = fields[1].rpartition(":")
        address = _hex_address(address_hex)
        try:
            port = int(port_hex, 16)
        except ValueError:
            continue
        if address is not None and address != DOCKER_DNS and Listener(address, port) not in found:
            found.append(Listener(address, port))
    return found


def listening_problem(listeners: list[Listener], port: int) -> str | None:
    """Why nothing outside the container can reach ``port``, judging by what listens; None when
    something listens on it on every interface, or when nothing listens yet (it may be starting)."""
    listeners = [item for item in listeners if item.address != DOCKER_DNS]
    if not listeners or any(item.port == port and item.everywhere for item in listeners):
        return None
    on_port = [item for item in listeners if item.port == port]
    if on_port:
        shown = ", ".join(map(str, on_port))
        return (f"the app listens on {shown} inside its container, which is reachable only from inside that "
                f"container, not from other containers or the host")
    shown = ", ".join(map(str, listeners))
    return f"the app listens on {shown} inside its container, not on port {port}"
