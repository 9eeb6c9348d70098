-- A stand-in for Pktgen-DPDK's Lua API (the calls perf/pktgen/espgw_replay.lua makes), so that
-- the script's logic can be run without Pktgen or a NIC. Two ports joined through a pretend
-- gateway: port 0 (public) and port 1 (protected). What a port sends reaches the other one,
-- scaled by the share the gateway forwards and capped at the gateway's capacity in packets
-- per second, so a rate sweep sees loss start where the capacity is passed. Every call is
-- recorded in pktgen_calls for the test to check. Configured by environment variables:
--   FAKE_LINE_PPS      packets per second at 100 % of the line rate
--   FAKE_DECAP_PPS     the gateway's capacity from port 0 to port 1
--   FAKE_ENCAP_PPS     ... from port 1 to port 0
--   FAKE_DECAP_SHARE   the share of port 0's frames the gateway forwards (ESP, not IKE)
local line = tonumber(os.getenv("FAKE_LINE_PPS"))
local cap = {[0] = tonumber(os.getenv("FAKE_DECAP_PPS")), [1] = tonumber(os.getenv("FAKE_ENCAP_PPS"))}
local share = {[0] = tonumber(os.getenv("FAKE_DECAP_SHARE")), [1] = 1}

pktgen_calls = {}
local function record(...) pktgen_calls[#pktgen_calls + 1] = table.concat({...}, " ") end

local rate = {[0] = 100, [1] = 100}
local sending = {}
local stats = {[0] = {ipackets = 0, opackets = 0}, [1] = {ipackets = 0, opackets = 0}}

local function port_of(p)
  local n = tonumber(p)
  assert(n == 0 or n == 1, "fake pktgen: no port " .. tostring(p))
  return n
end

function printf(fmt, ...) io.write(string.format(fmt, ...)) end

pktgen = {}
function pktgen.screen(s) record("screen", s) end
function pktgen.pcap(ports, s) record("pcap", ports, s) end
function pktgen.clr()
  record("clr")
  for p = 0, 1 do stats[p].ipackets, stats[p].opackets = 0, 0 end
end
function pktgen.set(p, what, v)
  record("set", p, what, tostring(v))
  assert(what == "rate", "fake pktgen: only 'rate' is modelled")
  rate[port_of(p)] = v
end
function pktgen.start(p) record("start", p); sending[port_of(p)] = true end
function pktgen.stop(p) record("stop", p); sending[port_of(p)] = false end
function pktgen.delay(ms)
  record("delay", tostring(ms))
  for p = 0, 1 do
    if sending[p] then
      local sent = math.floor(line * rate[p] / 100 * ms / 1000)
      local through = math.min(math.floor(sent * share[p]), math.floor(cap[p] * ms / 1000))
      stats[p].opackets = stats[p].opackets + sent
      stats[1 - p].ipackets = stats[1 - p].ipackets + through
    end
  end
end
function pktgen.portStats(ports, kind)
  record("portStats", ports, kind)
  return {[0] = {ipackets = stats[0].ipackets, opackets = stats[0].opackets},
          [1] = {ipackets = stats[1].ipackets, opackets = stats[1].opackets}, n = 2}
end
function pktgen.quit()
  record("quit")
  io.write("FAKE-CALLS " .. table.concat(pktgen_calls, ";") .. "\n")
end
