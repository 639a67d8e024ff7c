-- wrk script for bench/scan.py: door scanners admitting random paid tickets
-- through PUT /validate_ticket/, with answers counted per thread.
--
-- Environment (set by scan.py):
--   SCAN_IDS       file with one external id per line
--   SCAN_PASSWORD  the scanner account's password
--   SCAN_DELAY_MS  paced: ms between this thread's scans (0: back to back)
--   SCAN_RESULT    file that done() writes its JSON summary to

local ids = {}
for line in io.lines(os.getenv("SCAN_IDS")) do
  table.insert(ids, line)
end
local password = os.getenv("SCAN_PASSWORD")
local pause = tonumber(os.getenv("SCAN_DELAY_MS") or "0")

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- Per-thread counters; read back in done() with thread:get().
admitted, first_use, not_admitted, not_found, other = 0, 0, 0, 0, 0

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

local headers = { ["Content-Type"] = "application/json" }

function request()
  local external_id = ids[math.random(1, #ids)]
  -- Every other scan as a phone camera or a person types it: lower case.
  if math.random() < 0.5 then
    external_id = string.lower(external_id)
  end
  local body = string.format(
    '{"external_id": "%s", "password": "%s", "use_ticket": true}',
    external_id, password)
  return wrk.format("PUT", "/validate_ticket/", headers, body)
end

-- Paced: this thread's scans go out on a fixed schedule of one every
-- `pause` ms (so that all threads together offer the wanted rate), each on
-- whichever connection is free; a scan that falls behind goes at once.
if pause > 0 then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } scan_timespec;
    int clock_gettime(int clock_id, scan_timespec *tp);
  ]]
  local ts = ffi.new("scan_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local next_slot = nil
  function delay()
    local now = now_ms()
    if next_slot == nil or next_slot < now then
      next_slot = now
    end
    local wait = next_slot - now
    next_slot = next_slot + pause
    return math.floor(wait)
  end
end

function response(status, headers, body)
  if status == 200 then
    if string.find(body, '"admitted":true', 1, true) then
      admitted = admitted + 1
      if string.find(body, '"times_used":0,', 1, true) then
        first_use = first_use + 1
      end
    else
      not_admitted = not_admitted + 1
    end
  elseif status == 404 then
    not_found = not_found + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { admitted = 0, first_use = 0, not_admitted = 0, not_found = 0,
                   other = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
  end
  local e = summary.errors
  local out = io.open(os.getenv("SCAN_RESULT") or "scan-result.json", "w")
  out:write(string.format(
    '{"duration_us": %d, "requests": %d, "admitted": %d, "first_use": %d, '
    .. '"not_admitted": %d, "not_found": %d, "other": %d, '
    .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
    .. '"timeouts": %d, "non_2xx_3xx": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.duration, summary.requests, totals.admitted, totals.first_use,
    totals.not_admitted, totals.not_found, totals.other,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
  out:close()
end
