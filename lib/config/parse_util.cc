#include "parse_util.h"

namespace espgw::config {

namespace {

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

std::optional<std::vector<uint8_t>> parse_hex(std::string_view text) {
    if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
    std::vector<uint8_t> out;
    int high = -1;
    for (char c : text) {
        if (c == ':' || c == ' ') {
            if (high >= 0) return std::nullopt;
            continue;
        }
        const int d = hex_digit(c);
        if (d < 0) return std::nullopt;
        if (high < 0) {
            high = d;
        } else {
            out.push_back(static_cast<uint8_t>(high << 4 | d));
            high = -1;
        }
    }
    if (high >= 0) return std::nullopt;
    return out;
}

bool parse_mac(std::string_view text, uint8_t mac[6]) {
    if (text.size() != 17) return false;
    for (int k = 0; k < 6; ++k) {
        const int h = hex_digit(text[3 * k]), l = hex_digit(text[3 * k + 1]);
        if (h < 0 || l < 0 || (k < 5 && text[3 * k + 2] != ':')) return false;
        mac[k] = static_cast<uint8_t>(h << 4 | l);
    }
    return true;
}

}  // namespace espgw::config
