// A minimal IKEv2 responder for the end-to-end test against strongSwan: answers one initiator's
// IKE_SA_INIT with ike::respond_sa_init, then waits for its IKE_AUTH (on the NAT-T port, after
// the non-ESP marker, or on 500), opens it with the keys we derived and checks its PSK AUTH.
// charon sends IKE_AUTH only if it accepted our IKE_SA_INIT response and derived the same
// keys, so an opened, authenticated IKE_AUTH proves the whole first exchange interoperates.
// Prints one JSON line with what it saw; exit status 0 only if everything held.
//   ike_responder_probe ADDRESS PSK PROPOSAL
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "espgw/ike/encrypted.h"
#include "espgw/ike/psk_auth.h"
#include "espgw/ike/sa_init.h"

using namespace espgw;
using namespace espgw::ike;

namespace {

int udp_socket(const char* addr, uint16_t port) {
    const int s = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, addr, &a.sin_addr);
    if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        perror("bind");
        return -1;
    }
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s ADDRESS PSK PROPOSAL\n", argv[0]);
        return 2;
    }
    const std::string psk = argv[2];
    SaInitConfig cfg;
    std::string err;
    auto prop = parse_proposal(argv[3], ProtocolId::kIke, err);
    if (!prop) {
        fprintf(stderr, "%s\n", err.c_str());
        return 2;
    }
    cfg.proposals.push_back(*prop);
    const int s500 = udp_socket(argv[1], 500), s4500 = udp_socket(argv[1], 4500);
    if (s500 < 0 || s4500 < 0) return 2;
    in_addr me{};
    inet_pton(AF_INET, argv[1], &me);

    SaInitResult init;
    std::vector<uint8_t> init_request;
    std::string verdict = "no IKE_SA_INIT";
    bool opened = false, authenticated = false;
    std::string idi;
    pollfd fds[2] = {{s500, POLLIN, 0}, {s4500, POLLIN, 0}};
    while (poll(fds, 2, 20000) > 0) {
        for (int k = 0; k < 2; ++k) {
            if (!(fds[k].revents & POLLIN)) continue;
            uint8_t buf[65536];
            sockaddr_in from{};
            socklen_t fl = sizeof from;
            const ssize_t n = recvfrom(fds[k].fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &fl);
            if (n <= 0) continue;
            std::vector<uint8_t> msg(buf, buf + n);
            if (k == 1) {  // the NAT-T port: IKE after four zero octets
                if (msg.size() < 4 || msg[0] || msg[1] || msg[2] || msg[3]) continue;
                msg.erase(msg.begin(), msg.begin() + 4);
            }
            if (msg.size() < 28) continue;
            const UdpEnd peer{net::IpAddr::v4(ntohl(from.sin_addr.s_addr)), ntohs(from.sin_port)};
            const UdpEnd us{net::IpAddr::v4(ntohl(me.s_addr)), static_cast<uint16_t>(k ? 4500 : 500)};
            if (msg[18] == 34 && !(msg[19] & 0x20)) {  // IKE_SA_INIT request
                if (init.outcome != SaInitResult::established || msg != init_request) {
                    uint64_t spi_r;
                    std::vector<uint8_t> nr(32);
                    RAND_bytes(reinterpret_cast<uint8_t*>(&spi_r), sizeof spi_r);
                    RAND_bytes(nr.data(), static_cast<int>(nr.size()));
                    init = respond_sa_init(cfg, msg, peer, us, spi_r, nr, nullptr);
                    init_request = msg;
                    verdict = init.outcome == SaInitResult::established ? "established" : init.reason;
                }
                if (!init.response.empty())  // a retransmission gets the same answer
                    sendto(fds[k].fd, init.response.data(), init.response.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
                continue;
            }
            if (msg[18] == 35 && init.outcome == SaInitResult::established) {  // IKE_AUTH
                const auto prf = Prf{transform_of(init.chosen, TransformType::kPrf)};
                const SkSuite suite = suite_of(init.chosen);
                const Secret seed = skeyseed(prf, init.ni, init.nr, init.g_ir->bytes());
                const auto keys = ike_sa_keys(prf, seed.bytes(), init.ni, init.nr, init.spi_i, init.spi_r,
                                              integ_key_size(suite), encr_key_size(suite));
                const Opened o = open_sk(suite, SkKeys{keys->ei, keys->ai}, msg);
                opened = o.ok;
                if (!o.ok) {
                    verdict = "IKE_AUTH did not open: " + o.error;
                    goto done;
                }
                const RawPayload *id = nullptr, *auth = nullptr;
                for (const RawPayload& p : o.payloads) {
                    if (p.type == PayloadType::kIdi) id = &p;
                    if (p.type == PayloadType::kAuth) auth = &p;
                }
                if (id && auth) {
                    const auto a = parse_auth(auth->body);
                    const auto i = parse_id(id->body);
                    if (i.ok()) idi.assign(i->data.begin(), i->data.end());
                    const Secret want = psk_auth(prf, std::span(reinterpret_cast<const uint8_t*>(psk.data()), psk.size()),
                                                 init_request, init.nr, keys->pi.bytes(), id->body);
                    authenticated = a.ok() && a->method == AuthMethod::kSharedKeyMic &&
                                    std::vector<uint8_t>(want.bytes().begin(), want.bytes().end()) == a->data;
                }
                goto done;
            }
        }
    }
done:
    printf("{\"sa_init\": \"%s\", \"nat_there\": %s, \"nat_here\": %s, \"auth_opened\": %s, \"auth_verified\": %s, "
           "\"idi\": \"%s\"}\n",
           verdict.c_str(), init.nat.nat_there ? "true" : "false", init.nat.nat_here ? "true" : "false",
           opened ? "true" : "false", authenticated ? "true" : "false", idi.c_str());
    return init.outcome == SaInitResult::established && opened && authenticated ? 0 : 1;
}
