-- wrk script for bench/rush.py: distinct buyers reserving 1-3 tickets, or
-- plain GETs of the event listing, with status codes counted per thread.
--
-- No Cookie header is ever sent, so every request is a new buyer with a
-- session of its own (the server's Set-Cookie is ignored).
--
-- Environment (set by rush.py):
--   RUSH_MODE          "reserve" (default) or "list"
--   RUSH_EVENT         the event id to reserve for
--   RUSH_TICKET_TYPES  comma-separated visible ticket type ids of that event
--   RUSH_RESULT        file that done() writes its JSON summary to

local mode = os.getenv("RUSH_MODE") or "reserve"
local event_id = os.getenv("RUSH_EVENT") or "1"
local type_ids = {}
for id in string.gmatch(os.getenv("RUSH_TICKET_TYPES") or "1", "%d+") do
  table.insert(type_ids, id)
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- Per-thread counters; read back in done() with thread:get().
created, out_of_tickets, other_403, busy, ok_200, other, errors = 0, 0, 0, 0, 0, 0, 0

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

local path = mode == "list" and "/get_chapterevents/" or "/reserve_ticket/"
local headers = { ["Content-Type"] = "application/json" }

function request()
  if mode == "list" then
    return wrk.format("GET", path)
  end
  -- 1-3 tickets, of one type or split over two, as a buyer's page sends them.
  local total = math.random(1, 3)
  local first = type_ids[math.random(1, #type_ids)]
  local lines
  if total > 1 and #type_ids > 1 and math.random() < 0.5 then
    local second = type_ids[math.random(1, #type_ids)]
    lines = string.format(
      '{"ticket_type": "%s", "count": %d}, {"ticket_type": "%s", "count": %d}',
      first, total - 1, second, 1)
  else
    lines = string.format('{"ticket_type": "%s", "count": %d}', first, total)
  end
  local body = string.format('{"chapter_event": "%s", "tickets": [%s]}', event_id, lines)
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 200 then
    ok_200 = ok_200 + 1
  elseif status == 403 then
    if string.find(body, "OutOfTickets", 1, true) then
      out_of_tickets = out_of_tickets + 1
    else
      other_403 = other_403 + 1
    end
  elseif status == 503 then
    busy = busy + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local totals = { created = 0, out_of_tickets = 0, other_403 = 0, busy = 0,
                   ok_200 = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
  end
  local e = summary.errors
  -- Latency at every half percent (0.5 … 100): rush.py merges the answers of
  -- several wrk processes (one per app server) from these.
  local quantiles = {}
  for i = 1, 200 do
    quantiles[i] = string.format("%d", latency:percentile(i / 2))
  end
  local out = io.open(os.getenv("RUSH_RESULT") or "rush-result.json", "w")
  out:write(string.format(
    '{"duration_us": %d, "requests": %d, "created": %d, "out_of_tickets": %d, '
    .. '"other_403": %d, "busy": %d, "ok_200": %d, "other": %d, '
    .. '"connect_errors": %d, "read_errors": %d, "write_errors": %d, '
    .. '"timeouts": %d, "non_2xx_3xx": %d, '
    .. '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"mean_us": %.1f, "quantiles_us": [%s]}\n',
    summary.duration, summary.requests, totals.created, totals.out_of_tickets,
    totals.other_403, totals.busy, totals.ok_200, totals.other,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean, table.concat(quantiles, ", ")))
  out:close()
end
