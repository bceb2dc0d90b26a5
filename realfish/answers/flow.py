"""Batfish's Flow: the packet headers a trace follows and where it starts, and IP protocol names."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Any

from realfish.answers.headerspace import TCP_FLAGS

Ip = ipaddress.IPv4Address
Json = dict[str, Any]

_PROTOCOLS = """HOPOPT=0 ICMP=1 IGMP=2 GGP=3 IPINIP=4 ST=5 TCP=6 CBT=7 EGP=8 IGP=9 BBN_RCC_MON=10 NVPII=11 PUP=12
ARGUS=13 EMCON=14 XNET=15 CHAOS=16 UDP=17 MUX=18 DCN_MEAS=19 HMP=20 PRM=21 XNS_IDP=22 TRUNK1=23 TRUNK2=24 LEAF1=25
LEAF2=26 RDP=27 IRTP=28 ISO_TP4=29 NETBLT=30 MFE_NSP=31 MERIT_INP=32 DCCP=33 THREE_PC=34 IDPR=35 XTP=36 DDP=37
IDPR_CMTP=38 TPPLUSPLUS=39 IL=40 IPV6=41 SDRP=42 IPV6_ROUTE=43 IPV6_FRAG=44 IDRP=45 RSVP=46 GRE=47 MHRP=48 BNA=49
ESP=50 AHP=51 I_NLSP=52 SWIPE=53 NARP=54 MOBILE=55 TLSP=56 SKIP=57 IPV6_ICMP=58 IPV6_NONXT=59 IPV6_OPTS=60
ANY_HOST_INTERNAL_PROTOCOL=61 CFTP=62 ANY_LOCAL_NETWORK=63 SAT_EXPAK=64 KRYPTOLAN=65 RVD=66 IPPC=67
ANY_DISTRIBUTED_FILE_SYSTEM=68 SAT_MON=69 VISA=70 IPCV=71 CPNX=72 CPHB=73 WSN=74 PVP=75 BR_SAT_MON=76 SUN_ND=77
WB_MON=78 WB_EXPAK=79 ISO_IP=80 VMTP=81 SECURE_VMTP=82 VINES=83 TTP=84 NSFNET_IGP=85 DGP=86 TCF=87 EIGRP=88 OSPF=89
SPRITE_RPC=90 LARP=91 MTP=92 AX25=93 IPIP=94 MICP=95 SCC_SP=96 ETHERIP=97 ENCAP=98 ANY_PRIVATE_ENCRYPTION_SCHEME=99
GMTP=100 IFMP=101 PNNI=102 PIM=103 ARIS=104 SCPS=105 QNX=106 AN=107 IPCOMP=108 SNP=109 COMPAQ_PEER=110
IPX_IN_IP=111 VRRP=112 PGM=113 ANY_0_HOP_PROTOCOL=114 L2TP=115 DDX=116 IATP=117 STP=118 SRP=119 UTI=120 SMP=121
SM=122 PTP=123 ISIS=124 FIRE=125 CRTP=126 CRUDP=127 SSCOPMCE=128 IPLT=129 SPS=130 PIPE=131 SCTP=132 FC=133
RSVP_E2E_IGNORE=134 MOBILITY=135 UDP_LITE=136 MPLS_IN_IP=137 MANAET=138 HIP=139 SHIM6=140 WESP=141 ROHC=142"""
PROTOCOL_NUMBERS = {n: int(v) for n, v in (p.split("=") for p in _PROTOCOLS.split())}
PROTOCOL_NAMES = {v: n for n, v in PROTOCOL_NUMBERS.items()}
PORT_PROTOCOLS = {6, 17, 132}  # Batfish's IP_PROTOCOLS_WITH_PORTS: TCP, UDP, SCTP


def protocol_name(number: int) -> str:
    return PROTOCOL_NAMES.get(number, f"UNNAMED_{number}")


@dataclass(frozen=True)
class Flow:
    """Batfish's Flow: the packet headers and where it starts."""

    ingress_node: str
    src_ip: Ip
    dst_ip: Ip
    ip_protocol: int = 17
    src_port: int | None = 49152
    dst_port: int | None = 33434
    ingress_interface: str | None = None
    ingress_vrf: str | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    flags: tuple[int, ...] = (0,) * 8  # in TCP_FLAGS order
    dscp: int = 0
    ecn: int = 0
    fragment_offset: int = 0
    packet_length: int = 512

    @property
    def tcp_flags(self) -> dict[str, int]:
        return dict(zip(TCP_FLAGS, self.flags, strict=True))

    def to_json(self) -> Json:
        """Batfish's Flow JSON (keys in its alphabetical order; absent fields omitted)."""
        out: Json = {"dscp": self.dscp, "dstIp": str(self.dst_ip)}
        if self.ip_protocol in PORT_PROTOCOLS:
            out["dstPort"] = self.dst_port
        out["ecn"] = self.ecn
        out["fragmentOffset"] = self.fragment_offset
        if self.ip_protocol == 1:
            out["icmpCode"] = self.icmp_code
            out["icmpVar"] = self.icmp_type
        if self.ingress_interface is not None:
            out["ingressInterface"] = self.ingress_interface
        out["ingressNode"] = self.ingress_node
        if self.ingress_vrf is not None:
            out["ingressVrf"] = self.ingress_vrf
        out["ipProtocol"] = protocol_name(self.ip_protocol)
        out["packetLength"] = self.packet_length
        out["srcIp"] = str(self.src_ip)
        if self.ip_protocol in PORT_PROTOCOLS:
            out["srcPort"] = self.src_port
        for name, value in zip(TCP_FLAGS, self.flags, strict=True):
            out[f"tcpFlags{name.capitalize()}"] = value
        return out

    def reverse(self, node: str, vrf: str | None, interface: str | None) -> Flow:
        """The return flow (TracerouteUtils.returnFlow): addresses and ports swapped, starting where this ended;
        SYN becomes SYN+ACK, other flags stay."""
        f = self.tcp_flags
        flags = {**f, "ack": int(bool(f["syn"] or f["ack"])), "syn": int(bool(f["syn"] and not f["ack"]))}
        return replace(self, ingress_node=node, ingress_vrf=vrf, ingress_interface=interface,
                       src_ip=self.dst_ip, dst_ip=self.src_ip, src_port=self.dst_port, dst_port=self.src_port,
                       flags=tuple(flags[n] for n in TCP_FLAGS))
