"""What one OSPF packet costs on libreal's raw-socket path, next to the kernel's raw sockets over a veth pair.

    python bench/raw_packets.py [--packets 5000] [--roundtrips 5000] [--size 44] [--runs 3]

One small C program (compiled here with gcc) opens a raw IPPROTO_OSPF socket the way ospfd does (IP_HDRINCL,
IP_PKTINFO, MCAST_JOIN_GROUP 224.0.0.5 on the interface, IP_MULTICAST_LOOP 0) and sends 64-byte packets
(a 20-byte IP header + a 44-byte OSPF hello) with an IP_PKTINFO ifindex, as ospfd sends hellos. Two of them are
"routers" a and b on one point-to-point segment:
- emulated: under LD_PRELOAD=libreal with a controller in this process (no FRR, no virtual clock);
- kernel: in two network namespaces joined by a veth pair (the baseline's links).
Measured per runtime (medians of --runs):
- send: N packets back to back while b does not read (the sender's cost per packet, b's queue holds them);
- recv: b then reads the N packets (the receiver's cost per packet: the emulation peeks, filters, reads);
- round trip: a sends, b answers, a reads the answer, N times (latency through both processes, wake-ups included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from realfish.runtime.broker import Broker
from realfish.runtime.controller import Controller
from realfish.runtime.emulation import interface_table, libreal_path
from realfish.topology import Interface, Network, Router, Segment

SOURCE = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock, ifindex, size;
static struct in_addr src;

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void send_one(void)
{
	unsigned char pkt[1500] = {0x45, 0xc0, 0, 0, 0, 0, 0, 0, 1, 89};
	memcpy(pkt + 12, &src, 4);
	inet_pton(AF_INET, "224.0.0.5", pkt + 16);
	struct iovec iov = {pkt, 20 + size};
	struct sockaddr_in to = {.sin_family = AF_INET};
	inet_pton(AF_INET, "224.0.0.5", &to.sin_addr);
	union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } c;
	memset(&c, 0, sizeof(c));
	struct msghdr m = {&to, sizeof(to), &iov, 1, c.buf, sizeof(c.buf), 0};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);
	h->cmsg_level = IPPROTO_IP;
	h->cmsg_type = IP_PKTINFO;
	h->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
	((struct in_pktinfo *)CMSG_DATA(h))->ipi_ifindex = ifindex;
	if (sendmsg(sock, &m, 0) != 20 + size) {
		perror("sendmsg");
		exit(1);
	}
}

static void recv_one(void)
{
	unsigned char pkt[65536];
	char cbuf[64];
	struct iovec iov = {pkt, sizeof(pkt)};
	struct msghdr m = {NULL, 0, &iov, 1, cbuf, sizeof(cbuf), 0};
	if (recvmsg(sock, &m, 0) != 20 + size) {
		perror("recvmsg");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	ifindex = atoi(argv[1]);
	inet_pton(AF_INET, argv[2], &src);
	size = atoi(argv[3]);
	int one = 1, zero = 0, big = 4 << 20;
	sock = socket(AF_INET, SOCK_RAW, 89);
	if (sock < 0) {
		perror("socket");
		return 1;
	}
	setsockopt(sock, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one));
	setsockopt(sock, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	setsockopt(sock, IPPROTO_IP, IP_MULTICAST_LOOP, &zero, sizeof(zero));
	struct group_req g = {.gr_interface = ifindex};
	((struct sockaddr_in *)&g.gr_group)->sin_family = AF_INET;
	inet_pton(AF_INET, "224.0.0.5", &((struct sockaddr_in *)&g.gr_group)->sin_addr);
	if (setsockopt(sock, IPPROTO_IP, MCAST_JOIN_GROUP, &g, sizeof(g)) < 0) {
		perror("MCAST_JOIN_GROUP");
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char op[16];
	long n;
	while (scanf("%15s %ld", op, &n) == 2) {
		long long t0 = now();
		for (long i = 0; i < n; i++) {
			if (!strcmp(op, "send") || !strcmp(op, "ping"))
				send_one();
			if (strcmp(op, "send"))
				recv_one();
			if (!strcmp(op, "pong"))
				send_one();
		}
		printf("%lld\n", now() - t0);
		fflush(stdout);
	}
	return 0;
}
"""


class Endpoint:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready", argv

    def start(self, op: str, n: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{op} {n}\n")
        self.proc.stdin.flush()

    def result_ns(self) -> int:
        assert self.proc.stdout is not None
        return int(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def measure(a: Endpoint, b: Endpoint, packets: int, roundtrips: int) -> dict[str, float]:
    a.start("send", packets)
    send_ns = a.result_ns()
    b.start("recv", packets)
    recv_ns = b.result_ns()
    b.start("pong", roundtrips)
    a.start("ping", roundtrips)
    rtt_ns = a.result_ns()
    b.result_ns()
    return {"send_us": send_ns / packets / 1e3, "recv_us": recv_ns / packets / 1e3,
            "roundtrip_us": rtt_ns / roundtrips / 1e3}


def emulated(program: Path, tmp: Path, args: argparse.Namespace) -> dict[str, float]:
    net = Network()
    for name in ("a", "b"):
        net.add_router(Router(name, "", interfaces={"eth0": Interface("eth0")}))
    net.segments = [Segment("ab", [("a", "eth0"), ("b", "eth0")])]
    for i, (name, router) in enumerate(net.routers.items()):
        # pre-provisioned addresses stand in for zebra's
        text = interface_table(router, i, net) + f"addr 2 10.0.0.{i + 1}/24\n"
        (tmp / f"{name}.if").write_text(text)
    ctl = Controller(Broker(net), str(tmp / "control.sock"))
    ctl.start()
    ends: list[Endpoint] = []
    try:
        for i, name in enumerate(net.routers):
            env = dict(os.environ, LD_PRELOAD=str(libreal_path()), REALFISH_CONTROL=str(tmp / "control.sock"),
                       REALFISH_ROUTER=name, REALFISH_DAEMON="bench", REALFISH_IFTABLE=str(tmp / f"{name}.if"))
            ends.append(Endpoint([str(program), "2", f"10.0.0.{i + 1}", str(args.size)], env))
        return measure(ends[0], ends[1], args.packets, args.roundtrips)
    finally:
        for e in ends:
            e.close()
        ctl.stop()


def kernel(program: Path, args: argparse.Namespace) -> dict[str, float]:
    ns = [f"rfbench{os.getpid()}{x}" for x in ("a", "b")]
    ends: list[Endpoint] = []
    try:
        for n in ns:
            subprocess.run(["ip", "netns", "add", n], check=True)
        subprocess.run(["ip", "link", "add", "v", "netns", ns[0], "type", "veth", "peer", "name", "v", "netns",
                        ns[1]], check=True)
        for i, n in enumerate(ns):
            subprocess.run(["ip", "-n", n, "addr", "add", f"10.0.0.{i + 1}/24", "dev", "v"], check=True)
            for dev in ("lo", "v"):
                subprocess.run(["ip", "-n", n, "link", "set", dev, "up"], check=True)
        for i, n in enumerate(ns):
            link = json.loads(subprocess.run(["ip", "-n", n, "-j", "link", "show", "v"], check=True,
                                             capture_output=True, text=True).stdout)[0]
            ends.append(Endpoint(["ip", "netns", "exec", n, str(program), str(link["ifindex"]), f"10.0.0.{i + 1}",
                                  str(args.size)]))
        return measure(ends[0], ends[1], args.packets, args.roundtrips)
    finally:
        for e in ends:
            e.close()
        for n in ns:
            subprocess.run(["ip", "netns", "del", n], capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=5000)
    ap.add_argument("--roundtrips", type=int, default=5000)
    ap.add_argument("--size", type=int, default=44, help="bytes after the IP header (44: an OSPF hello)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.chmod(tmp, 0o755)
        program = tmp / "rawbench"
        (tmp / "rawbench.c").write_text(SOURCE)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(program), str(tmp / "rawbench.c")], check=True)
        runs: dict[str, list[dict[str, float]]] = {"emulated": [], "kernel": []}
        for i in range(args.runs):  # alternate, so that machine noise hits both alike
            run_dir = tmp / f"run{i}"
            run_dir.mkdir()
            runs["emulated"].append(emulated(program, run_dir, args))
            runs["kernel"].append(kernel(program, args))
    out: dict[str, Any] = {"packets": args.packets, "roundtrips": args.roundtrips, "bytes": 20 + args.size}
    for runtime, results in runs.items():
        out[runtime] = {k: round(statistics.median(r[k] for r in results), 2) for k in results[0]}
        out[runtime]["packets_per_s_one_way"] = round(1e6 / (out[runtime]["send_us"] + out[runtime]["recv_us"]))
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
