#include "frames.h"

#include <cstring>

namespace espgen {
namespace {

void put16(uint8_t* p, uint16_t v) {
    p[0] = uint8_t(v >> 8);
    p[1] = uint8_t(v);
}
void put32(uint8_t* p, uint32_t v) {
    put16(p, uint16_t(v >> 16));
    put16(p + 2, uint16_t(v));
}
uint16_t get16(const uint8_t* p) { return uint16_t(p[0] << 8 | p[1]); }
uint32_t get32(const uint8_t* p) { return uint32_t(get16(p)) << 16 | get16(p + 2); }

void ipv4_header(uint8_t* ip, uint16_t total, uint8_t proto, uint32_t src, uint32_t dst, uint16_t id) {
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, total);
    put16(ip + 4, id);
    put16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    ipv4_checksum(ip);
}

}  // namespace

void ipv4_checksum(uint8_t* ip) {
    ip[10] = ip[11] = 0;
    uint32_t sum = 0;
    for (int k = 0; k < 20; k += 2) sum += get16(ip + k);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    put16(ip + 10, uint16_t(~sum));
}

void inner_packet(const PeerSet& peers, uint32_t peer, uint32_t slot, uint32_t len, bool toward_lan,
                  std::vector<uint8_t>& out) {
    out.assign(len, 0);
    uint8_t* ip = out.data();
    const uint32_t tunnel = peers.inner_addr(peer);
    ipv4_header(ip, uint16_t(len), 17, toward_lan ? tunnel : Addresses::gen_inside,
                toward_lan ? Addresses::gen_inside : tunnel, uint16_t(slot));
    uint8_t* udp = ip + 20;
    put16(udp, kInnerSport);
    put16(udp + 2, kInnerDport);
    put16(udp + 4, uint16_t(len - 20));
    put16(udp + 6, 0);  // no UDP checksum: the ESP ICV covers the packet across the tunnel
    uint8_t* pl = udp + 8;
    put32(pl, kMagic);
    put32(pl + 4, slot);
    put32(pl + 8, peer);
    for (uint32_t j = kMinInner; j < len; ++j) ip[j] = uint8_t(slot + j);
}

void ether_header(const uint8_t dst[6], const uint8_t src[6], std::vector<uint8_t>& out) {
    out.insert(out.end(), dst, dst + 6);
    out.insert(out.end(), src, src + 6);
    out.push_back(0x08);
    out.push_back(0x00);
}

void outer_headers(const PeerSet& peers, uint32_t peer, size_t esp_len, std::vector<uint8_t>& out) {
    const size_t at = out.size();
    const uint32_t outer = peers.outer_bytes();
    out.resize(at + outer);
    uint8_t* ip = out.data() + at;
    ipv4_header(ip, uint16_t(outer + esp_len), peers.udp_encap() ? 17 : 50, peers.nat_addr(peer), Addresses::gw_public,
                uint16_t(peer));
    if (!peers.udp_encap()) return;
    uint8_t* udp = ip + 20;
    put16(udp, peers.nat_port(peer));
    put16(udp + 2, 4500);
    put16(udp + 4, uint16_t(8 + esp_len));
    put16(udp + 6, 0);  // RFC 3948: the checksum may be zero
}

const uint8_t* ipv4_of(const uint8_t* frame, size_t len, size_t& ip_len) {
    if (len < 14 + 20 || get16(frame + 12) != 0x0800 || (frame[14] >> 4) != 4) return nullptr;
    const uint8_t* ip = frame + 14;
    const size_t total = get16(ip + 2);
    if (total < 20 || total > len - 14) return nullptr;
    ip_len = total;
    return ip;
}

std::string check_inner(const PeerSet& peers, const uint8_t* ip, size_t len, bool toward_lan, InnerStamp& stamp) {
    if (len < kMinInner || ip[0] != 0x45 || ip[9] != 17) return "not an IPv4/UDP packet of ours";
    if (get16(ip + 2) != len) return "IP length differs from the packet";
    const uint8_t* udp = ip + 20;
    const uint8_t* pl = udp + 8;
    if (get32(pl) != kMagic) return "no generator stamp";
    stamp.slot = get32(pl + 4);
    stamp.peer = get32(pl + 8);
    if (stamp.peer >= peers.count()) return "stamp names no peer";
    const uint32_t tunnel = peers.inner_addr(stamp.peer);
    const uint32_t src = get32(ip + 12), dst = get32(ip + 16);
    if (src != (toward_lan ? tunnel : Addresses::gen_inside) || dst != (toward_lan ? Addresses::gen_inside : tunnel))
        return "addresses are not the peer's";
    if (get16(udp) != kInnerSport || get16(udp + 2) != kInnerDport || get16(udp + 4) != len - 20)
        return "UDP header changed";
    for (uint32_t j = kMinInner; j < len; ++j)
        if (ip[j] != uint8_t(stamp.slot + j)) return "payload changed at byte " + std::to_string(j);
    return {};
}

}  // namespace espgen
