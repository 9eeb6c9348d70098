// The IKE engine's Kernel on the real data plane: SPIs, peers and CHILD SAs through IpsecApi
// and the PeerTable, datagrams out through the TX path, randomness from OpenSSL, lines to the
// operator log. Control core only; the caller holds the control mutex around engine calls.
#pragma once

#include <functional>

#include "espgw/control/ipsec_api.h"
#include "espgw/control/peer_table.h"
#include "espgw/control/tx_path.h"
#include "espgw/ike/kernel.h"

namespace espgw::control {

class IkeKernel final : public ike::Kernel {
public:
    IkeKernel(IpsecApi& ipsec, PeerTable& peers, const dp::Shared& shared, TxPath& tx, std::function<uint64_t()> clock)
        : ipsec_(ipsec), peers_(peers), shared_(shared), tx_(tx), clock_(std::move(clock)) {}

    uint32_t alloc_spi() override { return ipsec_.alloc_spi(); }
    void release_spi(uint32_t spi) override { ipsec_.release_spi(spi); }
    uint32_t add_peer(const std::string& name, const ike::UdpEnd& where, bool nat_here, bool nat_there) override;
    void move_peer(uint32_t peer, const ike::UdpEnd& where) override;
    std::optional<ike::UdpEnd> peer_location(uint32_t peer) override;
    void remove_peer(uint32_t peer) override;
    uint32_t install_child(const ike::ChildInstall& c, std::string& error) override;
    uint32_t install_trap(const std::string& name, const std::vector<net::Prefix>& local,
                          const std::vector<net::Prefix>& remote, std::string& error) override;
    bool activate_outbound(uint32_t policy, uint32_t spi_out) override;
    void remove_child(uint32_t policy, uint32_t spi_in, uint32_t spi_out, bool remove_policy) override;
    std::optional<ike::ChildUsage> child_usage(uint32_t spi_in, uint32_t spi_out) override;
    void send(const ike::Datagram& d) override;
    void random(std::span<uint8_t> out) override;
    void log(const std::string& line) override;

    uint64_t send_failures = 0;  // out of mbufs or TX ring space

private:
    IpsecApi& ipsec_;
    PeerTable& peers_;
    const dp::Shared& shared_;
    TxPath& tx_;
    std::function<uint64_t()> clock_;
};

// The ESP transforms of a negotiated CHILD SA as the data plane names them; false if it has
// no such cipher (the proposals offered never name one, so this is a safety net).
bool esp_suite(uint16_t encr, uint16_t key_bits, uint16_t integ, crypto::Cipher& cipher, crypto::Integrity& integrity);

}  // namespace espgw::control
