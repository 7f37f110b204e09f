"""Network namespaces for a chaos cluster, and the faults played on them.

One ``HUB`` namespace holds a bridge and the simulator (and the campaign that drives it); each
node has its own namespace, joined to the bridge by a veth pair made inside the namespaces.
Addresses live in a random private /24 on these interfaces only: nothing is added to the
host's own network namespace, and traffic flows only between the test's namespaces.

Faults (each undone by :meth:`Network.heal`):

- ``partition``: the node's interface drops everything in and out (iptables);
- ``lossy``: a share of its packets dropped at random (iptables ``statistic``) and its link
  slowed to a trickle with a queue (tc ``tbf`` on both ends). netem would add fixed delay,
  but this machine's kernel has no ``sch_netem`` (``tc qdisc add ... netem``: "Specified
  qdisc kind is unknown"; no modules to load), so a slow, queueing link stands in for delay.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import signal
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field


class NetworkError(RuntimeError):
    """A namespace, link or rule could not be made."""


def sh(*args: str, check: bool = True) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise NetworkError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


@dataclass
class Network:
    prefix: str
    subnet: str  # the first three octets, e.g. "10.213.57"
    names: tuple[str, ...]
    faults: dict[str, set[str]] = field(default_factory=dict)  # node -> active fault kinds

    @property
    def hub(self) -> str:
        return f"{self.prefix}-hub"

    def namespace(self, node: str) -> str:
        return f"{self.prefix}-{node}"

    @property
    def hub_address(self) -> str:
        return f"{self.subnet}.1"

    def address(self, node: str) -> str:
        return f"{self.subnet}.{11 + self.names.index(node)}"

    def run_in(self, node: str | None, *args: str, check: bool = True) -> str:
        ns = self.hub if node is None else self.namespace(node)
        return sh("ip", "netns", "exec", ns, *args, check=check)

    def exec_prefix(self, node: str | None) -> list[str]:
        return ["ip", "netns", "exec", self.hub if node is None else self.namespace(node)]

    # --- faults -----------------------------------------------------------------------------

    def partition(self, node: str) -> None:
        self.run_in(node, "iptables", "-I", "INPUT", "-i", "eth0", "-j", "DROP")
        self.run_in(node, "iptables", "-I", "OUTPUT", "-o", "eth0", "-j", "DROP")
        self.faults.setdefault(node, set()).add("partition")

    def lossy(self, node: str, loss: float = 0.1, rate: str = "3mbit") -> None:
        for chain, way in (("INPUT", "-i"), ("OUTPUT", "-o")):
            self.run_in(node, "iptables", "-A", chain, way, "eth0", "-m", "statistic",
                        "--mode", "random", "--probability", f"{loss}", "-j", "DROP")  # fmt: skip
        shape = ["root", "tbf", "rate", rate, "burst", "32kbit", "latency", "500ms"]
        self.run_in(node, "tc", "qdisc", "replace", "dev", "eth0", *shape)
        self.run_in(None, "tc", "qdisc", "replace", "dev", f"v{node}", *shape)
        self.faults.setdefault(node, set()).add("lossy")

    def heal(self, node: str) -> None:
        self.run_in(node, "iptables", "-F")
        self.run_in(node, "tc", "qdisc", "del", "dev", "eth0", "root", check=False)
        self.run_in(None, "tc", "qdisc", "del", "dev", f"v{node}", "root", check=False)
        self.faults.pop(node, None)


def create_network(names: Sequence[str] = ("a", "b", "c")) -> Network:
    """Make the namespaces, the bridge and a veth pair per node; raises NetworkError."""
    network = Network(
        prefix="sv" + secrets.token_hex(3),
        subnet=f"10.{random.randint(200, 250)}.{random.randint(0, 255)}",
        names=tuple(names),
    )
    try:
        sh("ip", "netns", "add", network.hub)
        for node in names:
            sh("ip", "netns", "add", network.namespace(node))
        hub = ["ip", "-n", network.hub]
        sh(*hub, "link", "set", "lo", "up")
        sh(*hub, "link", "add", "br0", "type", "bridge")
        sh(*hub, "addr", "add", f"{network.hub_address}/24", "dev", "br0")
        sh(*hub, "link", "set", "br0", "up")
        for node in names:
            ns = network.namespace(node)
            sh(*hub, "link", "add", f"v{node}", "type", "veth", "peer", "name", "eth0", "netns", ns)
            sh(*hub, "link", "set", f"v{node}", "master", "br0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{network.address(node)}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "netns", "exec", ns, "iptables", "-S")  # iptables must work in there
    except (NetworkError, OSError, subprocess.SubprocessError):
        destroy_network(network)
        raise
    return network


def namespace_pids(namespace: str) -> list[int]:
    out = sh("ip", "netns", "pids", namespace, check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def destroy_network(network: Network) -> None:
    """Kill what still runs in the namespaces (only processes this test started can be
    there), then delete them; safe to call twice."""
    spaces = [network.hub, *(network.namespace(n) for n in network.names)]
    for namespace in spaces:
        for pid in namespace_pids(namespace):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for namespace in spaces:
        sh("ip", "netns", "del", namespace, check=False)
