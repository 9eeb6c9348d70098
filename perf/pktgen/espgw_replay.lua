-- espgw with Pktgen-DPDK: replays the captures that espgen writes through a deployed espgw
-- and prints, per rate step, what went in, what came out and the loss. See perf/GENERATOR.md.
--
-- Port 0 faces espgw's public port, port 1 its protected port:
--   decap: port 0 replays <prefix>-public.pcap (ESP in UDP from the peers' NAT ports, with IKE
--          and NAT keepalives mixed in); port 1 counts the decrypted packets.
--   encap: port 1 replays <prefix>-protected.pcap (plain packets to the peers' tunnel
--          addresses); port 0 counts the ESP that espgw sends to the peers.
--
--   pktgen -l 0-2 -n 4 -a <public-side NIC> -a <protected-side NIC> -- -P -m "[1].0,[2].1" \
--          -s 0:bench-public.pcap -s 1:bench-protected.pcap -f perf/pktgen/espgw_replay.lua
--
-- espgw must run with the config from `espgen --write-config ... --no-anti-replay` (same
-- --peers, --cipher, --seed as the captures): a capture replayed in a loop repeats its
-- sequence numbers, which anti-replay would rightly drop after the first pass.
package.path = package.path .. ";?.lua;test/?.lua;app/?.lua;"
require "Pktgen"

local rates = {5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}  -- percent of the line rate
local seconds = 10          -- per step
local loss_limit = 0.001    -- RFC 2544 style: the highest step at or under this loss
-- Of the public capture's frames, the share that is ESP (espgen --write-pcap prints it; the
-- IKE and keepalive frames end at espgw and are not forwarded).
local esp_share = 64 / 67

local function step(tx, rx, rate, share)
  pktgen.clr()
  pktgen.set(tx, "rate", rate)
  pktgen.start(tx)
  pktgen.delay(seconds * 1000)
  pktgen.stop(tx)
  pktgen.delay(1000)  -- the last packets through espgw
  local st = pktgen.portStats("all", "port")
  local sent = st[tonumber(tx)].opackets
  local got = st[tonumber(rx)].ipackets
  local expect = sent * share
  local loss = 1
  if expect > 0 then loss = (expect - got) / expect end
  if loss < 0 then loss = 0 end
  printf("%-6s rate %3d%%: sent %12d, expected out %12d, out %12d (%.3f Mpps), loss %.4f%%\n",
         tx == "0" and "decap" or "encap", rate, sent, math.floor(expect), got,
         got / seconds / 1e6, loss * 100)
  return loss
end

local function sweep(tx, rx, share)
  local best = 0
  for _, rate in ipairs(rates) do
    if step(tx, rx, rate, share) <= loss_limit then best = rate end
  end
  printf("%-6s highest rate with loss <= %.2f%%: %d%% of line rate\n",
         tx == "0" and "decap" or "encap", loss_limit * 100, best)
end

pktgen.screen("off")
pktgen.pcap("all", "on")
sweep("0", "1", esp_share)  -- decap
sweep("1", "0", 1)          -- encap
pktgen.quit()
