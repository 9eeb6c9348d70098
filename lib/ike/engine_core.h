// Inside the IKE engine: the IKE SAs and what the exchange handlers (ike_auth.cc,
// create_child.cc, informational.cc) share: sending and sealing messages, installing and
// removing CHILD SAs, tearing IKE SAs down. Not a public header.
#pragma once

#include <cstdarg>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "espgw/ike/child_sa.h"
#include "espgw/ike/engine.h"
#include "wire.h"

namespace espgw::ike {

class EngineCore {
public:
    EngineCore(EngineConfig c, Kernel& k);

    EngineConfig cfg;
    Kernel& kernel;
    EngineStats stats;
    std::map<uint64_t, std::unique_ptr<IkeSa>> sas;  // by our SPI
    size_t half_open = 0;
    std::map<std::tuple<uint64_t, net::IpAddr, uint16_t>, uint64_t> init_index;  // SPIi, from -> our SPI (half-open)
    std::map<net::IpAddr, unsigned> half_open_by_source;
    std::map<std::string, AddressPool> pools;
    CookieJar cookies;
    uint64_t cookies_rotated_ms = 0;  // 0: not yet (the first tick sets the clock)
    std::map<const Connection*, uint64_t> next_start_ms;  // start connections: when to try again
    std::map<const Connection*, uint32_t> traps;          // on-demand connections: their policy
    bool traps_installed = false;

    void log(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
    std::vector<uint8_t> random_bytes(size_t n);
    uint64_t new_spi();
    IkeSa* find(uint64_t our_spi);

    // Messages.
    std::vector<uint8_t> seal(IkeSa& ike, ExchangeType ex, bool response, uint32_t mid,
                              const std::vector<RawPayload>& inner);
    // The same, in RFC 7383 fragments when it is too big and the peer takes them.
    std::vector<std::vector<uint8_t>> seal_all(IkeSa& ike, ExchangeType ex, bool response, uint32_t mid,
                                               const std::vector<RawPayload>& inner);
    void send_to(IkeSa& ike, const std::vector<uint8_t>& bytes, const UdpEnd& from, const UdpEnd& to);
    // A request of ours (an empty INFORMATIONAL for liveness, a DELETE, ...), retransmitted
    // until answered. False if one is already outstanding.
    bool request(IkeSa& ike, ExchangeType ex, const std::vector<RawPayload>& inner, Pending::Kind kind,
                 uint64_t now_ms, uint32_t child_spi = 0);

    // CHILD SAs. ch: the negotiation's result (its proposal carries the peer's SPI; tsi/tsr as
    // the exchange's initiator and responder sent them), keys and spi_in: ours; policy
    // non-zero for a rekey of a child with that policy. we_initiated: we started this
    // exchange (then our traffic uses the "i" keys and TSi is our side). defer_outbound (a
    // rekey we answer): the new outbound SA takes over only when the old child is removed.
    bool install_child(IkeSa& ike, const ChildChoice& ch, const ChildKeys& keys, uint32_t spi_in, uint32_t policy,
                       uint64_t now_ms, std::string& error, bool we_initiated = false, bool defer_outbound = false);
    // Removes the child's SAs from the data plane (its policy too when no other child uses it);
    // a child waiting to send in its place takes over first.
    void remove_child(IkeSa& ike, uint32_t spi_in);

    // IKE SAs: drop removes everything at once, locally; remove tells the peer first (an
    // INFORMATIONAL with DELETE), removes the CHILD SAs at once and forgets the IKE SA when
    // the peer answers or does not.
    void drop(uint64_t our_spi, const char* why);
    void remove(IkeSa& ike, uint64_t now_ms, const char* why);
    void leave_half_open(IkeSa& ike);
    void release_vips(IkeSa& ike);

    // Authenticated traffic from where: follow the peer (RFC 7296 §2.23).
    void heard_from(IkeSa& ike, const Datagram& d, uint64_t now_ms);
    std::string where(const UdpEnd& e) const;
    std::string name(const IkeSa& ike) const;
};

// As initiator (initiator.cc): the first request, the answers to IKE_SA_INIT and IKE_AUTH.
bool initiate(EngineCore& core, const Connection& conn, uint64_t now_ms);
void on_init_response(EngineCore& core, IkeSa& ike, const Datagram& d, const Message& m, uint64_t now_ms);
void on_auth_response(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& response, uint64_t now_ms);

// CHILD SA rekeys we start (rekey_child.cc).
bool start_child_rekey(EngineCore& core, IkeSa& ike, ChildSa& old, uint64_t now_ms);
void on_child_rekey_response(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& response, uint64_t now_ms);

// IKE SA rekeys we start (rekey_ike.cc).
bool start_ike_rekey(EngineCore& core, IkeSa& ike, uint64_t now_ms);
void on_ike_rekey_response(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& response, uint64_t now_ms);

// The exchanges, as responder: each returns the payloads of the response (inside SK).
std::vector<RawPayload> respond_ike_auth(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& request,
                                         uint64_t now_ms);
std::vector<RawPayload> respond_create_child(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& request,
                                             uint64_t now_ms);
std::vector<RawPayload> respond_informational(EngineCore& core, IkeSa& ike, const std::vector<RawPayload>& request,
                                              uint64_t now_ms);

// Payload helpers the handlers share.
inline RawPayload payload(PayloadType t, std::vector<uint8_t> body) { return RawPayload{t, false, 0, std::move(body)}; }
RawPayload notify_payload(NotifyType t, std::vector<uint8_t> data = {}, ProtocolId proto = ProtocolId::kNone,
                          std::vector<uint8_t> spi = {});
bool has_notify(const std::vector<RawPayload>& payloads, NotifyType t);
const RawPayload* find_payload(const std::vector<RawPayload>& payloads, PayloadType t);

}  // namespace espgw::ike
