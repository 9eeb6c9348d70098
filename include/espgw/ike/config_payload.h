// The Configuration payload, CP (RFC 7296 §3.15): a road warrior asks for an address on the
// protected network (a virtual IP) and DNS servers in IKE_AUTH (CFG_REQUEST), the gateway
// answers with what it assigned (CFG_REPLY).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "espgw/ike/message.h"
#include "espgw/net/prefix.h"

namespace espgw::ike {

enum class CfgType : uint8_t { kRequest = 1, kReply = 2, kSet = 3, kAck = 4 };

// Attribute types (§3.15.1) this gateway reads or answers.
namespace cfg_attr {
constexpr uint16_t kInternalIp4Address = 1;
constexpr uint16_t kInternalIp4Netmask = 2;
constexpr uint16_t kInternalIp4Dns = 3;
constexpr uint16_t kInternalIp6Address = 8;
constexpr uint16_t kInternalIp6Dns = 10;
}  // namespace cfg_attr

struct CfgAttribute {
    uint16_t type = 0;  // 15 bits; the top bit is reserved
    std::vector<uint8_t> value;
    bool operator==(const CfgAttribute&) const = default;
};

struct CpPayload {
    CfgType type = CfgType::kRequest;
    std::vector<CfgAttribute> attributes;
    bool operator==(const CpPayload&) const = default;
    bool asks(uint16_t attr) const;
};

Parsed<CpPayload> parse_cp(std::span<const uint8_t> body);
std::vector<uint8_t> build_cp(const CpPayload& cp);

// Attribute values: an IPv4 address (4 octets), an IPv6 address with its prefix length (17).
CfgAttribute ip4_attribute(uint16_t type, const net::IpAddr& a);
CfgAttribute ip6_attribute(uint16_t type, const net::IpAddr& a, uint8_t prefix_len);

}  // namespace espgw::ike
