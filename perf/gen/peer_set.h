// The peers the generator plays: road warriors behind NATs, each with its own outer address
// and port (several share a NAT address, as behind a real carrier NAT), its tunnel address
// and one SA pair. Or, with plain ESP (no UDP encapsulation, what gateways without NAT-T such
// as DPDK's ipsec-secgw speak), sites each at its own address. Everything follows from
// (count, cipher, seed), so the gateway's config and the generator agree without reading
// each other's files.
#pragma once

#include <cstdint>
#include <string>

#include "esp_codec.h"

namespace espgen {

// The addresses of the bench network (host order).
struct Addresses {
    static constexpr uint32_t gw_public = 0xC0000201;   // 192.0.2.1/24, espgw's public port
    static constexpr uint32_t gen_public = 0xC0000202;  // 192.0.2.2, the generator: next hop to the peers
    static constexpr uint32_t gw_inside = 0x0A010001;   // 10.1.0.1/24, espgw's protected port
    static constexpr uint32_t gen_inside = 0x0A010002;  // 10.1.0.2, the protected host
    static constexpr uint32_t nat_base = 0x64400000;    // 100.64.0.0/10: the peers' NAT addresses
    static constexpr uint32_t inner_base = 0x0A800000;  // 10.128.0.0/9: the peers' tunnel addresses
    static constexpr uint32_t spi_in_base = 0x10000000;   // espgw's inbound SAs (the generator sends)
    static constexpr uint32_t spi_out_base = 0x20000000;  // espgw's outbound SAs (the generator receives)
};

struct MacPair {
    uint8_t gen[6];  // the generator's port
    uint8_t gw[6];   // espgw's port at the other end of the memif
};

class PeerSet {
public:
    PeerSet(uint32_t count, uint32_t per_nat, Cipher cipher, uint32_t seed, bool udp_encap = true)
        : count_(count), per_nat_(per_nat && udp_encap ? per_nat : 1), cipher_(cipher), seed_(seed),
          udp_encap_(udp_encap) {}

    uint32_t count() const { return count_; }
    Cipher cipher() const { return cipher_; }
    bool udp_encap() const { return udp_encap_; }     // ESP in UDP (RFC 3948), else plain ESP
    uint32_t outer_bytes() const { return udp_encap_ ? 28 : 20; }  // IPv4 (+ UDP) before the ESP
    uint32_t nat_addr(uint32_t i) const { return Addresses::nat_base + 1 + i / per_nat_; }
    uint16_t nat_port(uint32_t i) const { return uint16_t(1024 + (i % per_nat_) * 61 % 60000); }
    uint32_t inner_addr(uint32_t i) const { return Addresses::inner_base + 1 + i; }
    uint32_t spi_in(uint32_t i) const { return Addresses::spi_in_base + i; }
    uint32_t spi_out(uint32_t i) const { return Addresses::spi_out_base + i; }
    // The peer whose outbound SA this is, or count() for an SPI not ours.
    uint32_t peer_of_spi_out(uint32_t spi) const {
        return spi - Addresses::spi_out_base < count_ ? spi - Addresses::spi_out_base : count_;
    }

    // Keys of peer i's SA toward espgw (inbound = true) or from it: SHA-256 of the seed,
    // the index and the direction, stretched to the lengths the cipher needs.
    SaKeys keys(uint32_t i, bool inbound) const;

    // Writes a complete espgw config for these peers: the two memif ports (espgw the memif
    // client), static neighbours for the generator's ports, one peer and two SAs per peer.
    // `eal` is the EAL argument list as a libconfig array body. anti_replay = false writes
    // replay_window = 0 on the inbound SAs, for captures replayed in a loop.
    bool write_gateway_config(const std::string& path, const std::string& public_dev,
                              const std::string& inside_dev, const MacPair& pub, const MacPair& in,
                              const std::string& eal, uint32_t mbufs, bool anti_replay, std::string& error) const;

    // Writes the same tunnels as a DPDK ipsec-secgw config file (plain ESP, tunnel mode): one
    // SP and SA per direction and peer, routes (port 0 the unprotected, public side) and the
    // generator's MACs as each port's next hop.
    bool write_secgw_config(const std::string& path, const MacPair& pub, const MacPair& in, std::string& error) const;

private:
    uint32_t count_, per_nat_;
    Cipher cipher_;
    uint32_t seed_;
    bool udp_encap_;
};

std::string ipv4_str(uint32_t a);
std::string mac_str(const uint8_t m[6]);

}  // namespace espgen
