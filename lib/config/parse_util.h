// Small text parsers used by the config loader.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace espgw::config {

// "0x00112233..." or "00112233..."; colons allowed between bytes. nullopt if not hex.
std::optional<std::vector<uint8_t>> parse_hex(std::string_view text);
// "02:00:00:00:00:01"
bool parse_mac(std::string_view text, uint8_t mac[6]);

}  // namespace espgw::config
