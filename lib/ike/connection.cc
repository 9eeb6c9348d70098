#include "espgw/ike/connection.h"

#include <arpa/inet.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

namespace espgw::ike {

std::optional<Identity> Identity::parse(const std::string& text, std::string& error) {
    Identity id;
    if (text.empty()) {
        error = "empty identity";
        return std::nullopt;
    }
    if (text == "%any") {
        id.any = true;
        return id;
    }
    std::string t = text;
    if (t.rfind("dn:", 0) == 0) {
        // A distinguished name in OpenSSL's one-line form with commas ("CN=gw, O=Example").
        X509_NAME* name = X509_NAME_new();
        std::string rest = t.substr(3);
        bool ok = name != nullptr;
        size_t pos = 0;
        while (ok && pos < rest.size()) {
            size_t comma = rest.find(',', pos);
            std::string rdn = rest.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
            pos = comma == std::string::npos ? rest.size() : comma + 1;
            while (!rdn.empty() && rdn.front() == ' ') rdn.erase(rdn.begin());
            const size_t eq = rdn.find('=');
            ok = eq != std::string::npos && eq > 0 &&
                 X509_NAME_add_entry_by_txt(name, rdn.substr(0, eq).c_str(), MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(rdn.c_str() + eq + 1), -1, -1, 0) == 1;
        }
        unsigned char* der = nullptr;
        const int len = ok ? i2d_X509_NAME(name, &der) : -1;
        X509_NAME_free(name);
        if (len <= 0) {
            error = "not a distinguished name (dn:CN=..., O=...): " + text;
            return std::nullopt;
        }
        id.id = {IdType::kDerAsn1Dn, std::vector<uint8_t>(der, der + len)};
        OPENSSL_free(der);
        return id;
    }
    if (t[0] == '*') {
        id.wildcard = true;
        t = t.substr(1);
    }
    uint8_t buf[16];
    if (!id.wildcard && inet_pton(AF_INET, t.c_str(), buf) == 1) {
        id.id = {IdType::kIpv4Addr, std::vector<uint8_t>(buf, buf + 4)};
    } else if (!id.wildcard && inet_pton(AF_INET6, t.c_str(), buf) == 1) {
        id.id = {IdType::kIpv6Addr, std::vector<uint8_t>(buf, buf + 16)};
    } else if (t.find('@') != std::string::npos) {
        id.id = {IdType::kRfc822Addr, std::vector<uint8_t>(t.begin(), t.end())};
    } else if (!t.empty() && std::all_of(t.begin(), t.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-'; })) {
        id.id = {IdType::kFqdn, std::vector<uint8_t>(t.begin(), t.end())};
    } else {
        error = "not an identity (FQDN, user@domain, IP address or %any): " + text;
        return std::nullopt;
    }
    return id;
}

bool Identity::matches(const IdPayload& peer) const {
    if (any) return true;
    if (!wildcard && id.type == IdType::kDerAsn1Dn && peer.type == IdType::kDerAsn1Dn) {
        // Equal names may be encoded differently (string types): compare them canonically.
        const unsigned char *a = id.data.data(), *b = peer.data.data();
        X509_NAME* x = d2i_X509_NAME(nullptr, &a, static_cast<long>(id.data.size()));
        X509_NAME* y = d2i_X509_NAME(nullptr, &b, static_cast<long>(peer.data.size()));
        const bool same = x && y && X509_NAME_cmp(x, y) == 0;
        X509_NAME_free(x);
        X509_NAME_free(y);
        return same;
    }
    if (!wildcard) return peer.type == id.type && peer.data == id.data;
    // A suffix: any FQDN or RFC 822 identity that ends with it.
    if (peer.type != IdType::kFqdn && peer.type != IdType::kRfc822Addr) return false;
    return peer.data.size() >= id.data.size() &&
           std::equal(id.data.begin(), id.data.end(), peer.data.end() - static_cast<long>(id.data.size()));
}

std::string to_string(const IdPayload& id) {
    char buf[INET6_ADDRSTRLEN];
    switch (id.type) {
    case IdType::kIpv4Addr:
        if (id.data.size() == 4 && inet_ntop(AF_INET, id.data.data(), buf, sizeof buf)) return buf;
        break;
    case IdType::kIpv6Addr:
        if (id.data.size() == 16 && inet_ntop(AF_INET6, id.data.data(), buf, sizeof buf)) return buf;
        break;
    case IdType::kFqdn:
    case IdType::kRfc822Addr: {
        std::string s;
        for (uint8_t c : id.data) s += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
        return s;
    }
    case IdType::kDerAsn1Dn: {
        const unsigned char* p = id.data.data();
        X509_NAME* name = d2i_X509_NAME(nullptr, &p, static_cast<long>(id.data.size()));
        if (!name) break;
        char buf[256];
        X509_NAME_oneline(name, buf, sizeof buf);
        X509_NAME_free(name);
        return std::string("dn:") + buf;
    }
    default:
        break;
    }
    static const char* hex = "0123456789abcdef";
    std::string s = "id" + std::to_string(static_cast<int>(id.type)) + ":";
    for (uint8_t c : id.data) {
        s += hex[c >> 4];
        s += hex[c & 15];
    }
    return s;
}

bool Connection::accepts(const net::IpAddr& from) const {
    return remote_addrs.empty() ||
           std::any_of(remote_addrs.begin(), remote_addrs.end(), [&](const net::Prefix& p) { return p.contains(from); });
}

}  // namespace espgw::ike
