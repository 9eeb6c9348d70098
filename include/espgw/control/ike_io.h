// IKE datagrams in and out of the control core: the IP/UDP packets workers hand over (the IKE
// ring) become ike::Datagram, and the engine's datagrams become packets to route (TxPath).
#pragma once

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <optional>

#include "espgw/ike/datagram.h"

namespace espgw::control {

// m: an IPv4 or IPv6 packet with UDP (data at the IP header, l3_len = IP header length,
// l4_len = UDP header plus the non-ESP marker if there was one), as the workers hand IKE
// over. Does not consume m. nullopt: malformed (too short, lengths disagree).
std::optional<ike::Datagram> datagram_from_packet(const rte_mbuf* m);

// The datagram as an IP packet (IPv4 or IPv6 by its addresses; UDP checksum filled, as
// IPv6 requires), ready for TxPath::route. nullptr: out of mbufs, addresses of two families,
// or too big for one mbuf (IKE fragmentation, RFC 7383, keeps messages below that).
rte_mbuf* packet_from_datagram(rte_mempool* pool, const ike::Datagram& d);

}  // namespace espgw::control
