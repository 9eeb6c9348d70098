#include "espgw/esp/esp_encap.h"

namespace espgw::esp {

uint32_t esp_max_payload(const sa::Sa& sa, uint32_t mtu) {
    const uint32_t fixed = esp_header_len(sa) + sa.keys.info.icv_len;
    if (mtu < fixed + 2 + sa.keys.info.block_len) return 0;
    const uint32_t room = (mtu - fixed) / sa.keys.info.block_len * sa.keys.info.block_len;
    return room - 2;
}

}  // namespace espgw::esp
