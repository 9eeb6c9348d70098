#include "peer_set.h"

#include <openssl/sha.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace espgen {
namespace {

std::string hex(const std::vector<uint8_t>& v) {
    static const char* d = "0123456789abcdef";
    std::string s = "0x";
    for (uint8_t b : v) {
        s += d[b >> 4];
        s += d[b & 15];
    }
    return s;
}

// `n` bytes of SHA-256(seed | index | direction | label | block counter).
std::vector<uint8_t> stretch(uint32_t seed, uint32_t i, bool inbound, uint8_t label, size_t n) {
    std::vector<uint8_t> out;
    for (uint8_t ctr = 0; out.size() < n; ++ctr) {
        uint8_t in[11];
        std::memcpy(in, &seed, 4);
        std::memcpy(in + 4, &i, 4);
        in[8] = inbound;
        in[9] = label;
        in[10] = ctr;
        uint8_t md[SHA256_DIGEST_LENGTH];
        SHA256(in, sizeof in, md);
        out.insert(out.end(), md, md + std::min<size_t>(sizeof md, n - out.size()));
    }
    return out;
}

// A memif device gets the MAC the generator addresses it by; a NIC keeps its own.
std::string memif_mac(const std::string& dev, const uint8_t mac[6]) {
    return dev.rfind("net_memif", 0) == 0 ? ",mac=" + mac_str(mac) : "";
}

}  // namespace

std::string ipv4_str(uint32_t a) {
    char b[16];
    snprintf(b, sizeof b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return b;
}

std::string mac_str(const uint8_t m[6]) {
    char b[18];
    snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b;
}

SaKeys PeerSet::keys(uint32_t i, bool inbound) const {
    SaKeys k;
    k.cipher = cipher_;
    k.key = stretch(seed_, i, inbound, 'k', cipher_key_bytes(cipher_));
    if (size_t n = auth_key_bytes(cipher_)) k.auth = stretch(seed_, i, inbound, 'a', n);
    return k;
}

bool PeerSet::write_gateway_config(const std::string& path, const std::string& public_dev,
                                   const std::string& inside_dev, const MacPair& pub, const MacPair& in,
                                   const std::string& eal, uint32_t mbufs, bool anti_replay,
                                   std::string& error) const {
    FILE* f = fopen(path.c_str(), "w");
    if (!f) {
        error = path + ": " + strerror(errno);
        return false;
    }
    const bool cbc = auth_key_bytes(cipher_) != 0;
    const uint32_t max_sas = count_ < 2 ? 2 : count_;  // per direction
    fprintf(f,
            "# espgw for the traffic generator (written by espgen --write-config): %u peers behind\n"
            "# NATs, %s, over memif ports to the generator. Public 192.0.2.1/24 (the peers are\n"
            "# routed via the generator at 192.0.2.2), protected 10.1.0.1/24 (the generator's\n"
            "# host 10.1.0.2).\n"
            "eal = [%s];\n"
            "lcores = { control = 0; workers = [1]; };\n"
            "polling = \"busy\";\n"
            "mbufs = %u;\n"
            "max_sas = %u;\n"
            "ports = {\n"
            "  # IMIX's 1500-byte packets must cross whole, as in perf/bench_esp: a jumbo MTU outside.\n"
            "  public    = { device = \"%s%s\"; address = \"%s/24\"; gateway = \"%s\"; mtu = 9000;\n"
            "                rx_desc = 4096; tx_desc = 4096; };\n"
            "  protected = { device = \"%s%s\"; address = \"%s/24\"; rx_desc = 4096; tx_desc = 4096; };\n"
            "};\n"
            "neighbours = (\n"
            "  { address = \"%s\"; mac = \"%s\"; },\n"
            "  { address = \"%s\"; mac = \"%s\"; }\n"
            ");\n",
            count_, cipher_name(cipher_), eal.c_str(), mbufs, max_sas, public_dev.c_str(),
            memif_mac(public_dev, pub.gw).c_str(), ipv4_str(Addresses::gw_public).c_str(),
            ipv4_str(Addresses::gen_public).c_str(), inside_dev.c_str(), memif_mac(inside_dev, in.gw).c_str(),
            ipv4_str(Addresses::gw_inside).c_str(), ipv4_str(Addresses::gen_public).c_str(),
            mac_str(pub.gen).c_str(), ipv4_str(Addresses::gen_inside).c_str(), mac_str(in.gen).c_str());
    fprintf(f, "peers = (\n");
    for (uint32_t i = 0; i < count_; ++i) {
        fprintf(f, "  { name = \"p%u\"; address = \"%s\";", i, ipv4_str(nat_addr(i)).c_str());
        if (udp_encap_) fprintf(f, " port = %u;", nat_port(i));
        fprintf(f, " }%s\n", i + 1 < count_ ? "," : "");
    }
    fprintf(f, ");\nsas = (\n");
    for (uint32_t i = 0; i < count_; ++i) {
        for (int dir = 0; dir < 2; ++dir) {
            const bool inbound = dir == 0;
            const SaKeys k = keys(i, inbound);
            fprintf(f,
                    "  { name = \"p%u-%s\"; peer = \"p%u\"; direction = \"%s\"; spi = 0x%08x; cipher = \"%s\";"
                    " key = \"%s\";",
                    i, inbound ? "in" : "out", i, inbound ? "in" : "out", inbound ? spi_in(i) : spi_out(i),
                    cipher_name(cipher_), hex(k.key).c_str());
            if (cbc) fprintf(f, " integrity = \"hmac-sha256-128\"; auth_key = \"%s\";", hex(k.auth).c_str());
            if (inbound && !anti_replay) fprintf(f, " replay_window = 0;");
            if (!udp_encap_) fprintf(f, " encap = \"none\";");
            fprintf(f, " local_ts = \"10.1.0.0/24\"; remote_ts = \"%s/32\"; }%s\n", ipv4_str(inner_addr(i)).c_str(),
                    i + 1 < count_ || inbound ? "," : "");
        }
    }
    fprintf(f, ");\n");
    if (fclose(f) != 0) {
        error = path + ": " + strerror(errno);
        return false;
    }
    return true;
}

bool PeerSet::write_secgw_config(const std::string& path, const MacPair& pub, const MacPair& in,
                                 std::string& error) const {
    if (udp_encap_) {
        error = "ipsec-secgw has no NAT-T with software crypto: write its config with plain ESP (--encap none)";
        return false;
    }
    FILE* f = fopen(path.c_str(), "w");
    if (!f) {
        error = path + ": " + strerror(errno);
        return false;
    }
    // Its key syntax: bytes as hex pairs joined by colons.
    auto colon_hex = [](const std::vector<uint8_t>& v) {
        std::string s;
        char b[4];
        for (size_t k = 0; k < v.size(); ++k) {
            snprintf(b, sizeof b, k ? ":%02x" : "%02x", v[k]);
            s += b;
        }
        return s;
    };
    auto algo = [&](const SaKeys& k) {
        switch (cipher_) {
            case Cipher::aes128_gcm: return "aead_algo aes-128-gcm aead_key " + colon_hex(k.key);
            case Cipher::aes256_gcm: return "aead_algo aes-256-gcm aead_key " + colon_hex(k.key);
            case Cipher::chacha20_poly1305: return "aead_algo chacha20-poly1305 aead_key " + colon_hex(k.key);
            case Cipher::aes128_cbc_sha256:
                return "cipher_algo aes-128-cbc cipher_key " + colon_hex(k.key) + " auth_algo sha256-hmac auth_key " +
                       colon_hex(k.auth);
        }
        return std::string();
    };
    fprintf(f, "# ipsec-secgw for the traffic generator (written by espgen --write-secgw-config): %u peers,\n"
               "# %s, plain ESP in tunnel mode; port 0 public (192.0.2.1), port 1 protected (10.1.0.0/24).\n",
            count_, cipher_name(cipher_));
    const std::string gw = ipv4_str(Addresses::gw_public);
    for (uint32_t i = 0; i < count_; ++i) {
        const std::string peer = ipv4_str(nat_addr(i)), inner = ipv4_str(inner_addr(i));
        fprintf(f, "sp ipv4 out esp protect %u pri 1 dst %s/32 sport 0:65535 dport 0:65535\n", spi_out(i), inner.c_str());
        fprintf(f, "sp ipv4 in esp protect %u pri 1 src %s/32 dst 10.1.0.0/24 sport 0:65535 dport 0:65535\n", spi_in(i),
                inner.c_str());
        fprintf(f, "sa out %u %s mode ipv4-tunnel src %s dst %s\n", spi_out(i), algo(keys(i, false)).c_str(), gw.c_str(),
                peer.c_str());
        fprintf(f, "sa in %u %s mode ipv4-tunnel src %s dst %s\n", spi_in(i), algo(keys(i, true)).c_str(), peer.c_str(),
                gw.c_str());
    }
    fprintf(f, "rt ipv4 dst 100.64.0.0/10 port 0\nrt ipv4 dst 10.1.0.0/24 port 1\n");
    fprintf(f, "neigh port 0 %s\nneigh port 1 %s\n", mac_str(pub.gen).c_str(), mac_str(in.gen).c_str());
    if (fclose(f) != 0) {
        error = path + ": " + strerror(errno);
        return false;
    }
    return true;
}

}  // namespace espgen
