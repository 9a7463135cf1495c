-- wrk script for one benchmark case (bench/run.py passes everything through the environment).
--   BENCH_METHOD     HTTP method (GET or POST)
--   BENCH_BODY_FILE  optional: one request body per line; each request takes the next line, so
--                    single-use codes and refresh tokens are each presented once. Threads take
--                    disjoint slices (line i goes to thread i mod BENCH_THREADS).
--   BENCH_HEADER_NAME, BENCH_HEADER_FILE  optional: one value of that header per line, each sent
--                    once, sliced per thread like the bodies (single-use DPoP proofs)
--   BENCH_THREADS    the -t value given to wrk
-- Headers come from wrk's -H options. done() prints one line "BENCH_JSON {...}" with the counts
-- per HTTP status, how often a body pool wrapped around, and the latency percentiles (microseconds).

local threads = {}
local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local function slice(path)
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
   local lines = {}
   local line_no = 0
   for line in io.lines(path) do
      if line_no % nthreads == id then
         table.insert(lines, line)
      end
      line_no = line_no + 1
   end
   return lines
end

function init(args)
   method = os.getenv("BENCH_METHOD") or "GET"
   statuses = {}
   wrapped = 0
   bodies = nil
   index = 0
   header_values = nil
   header_index = 0
   local path = os.getenv("BENCH_BODY_FILE")
   if path and path ~= "" then
      bodies = slice(path)
   end
   header_name = os.getenv("BENCH_HEADER_NAME")
   local header_path = os.getenv("BENCH_HEADER_FILE")
   if header_name and header_name ~= "" and header_path and header_path ~= "" then
      header_values = slice(header_path)
   end
end

function request()
   local body = nil
   if bodies and #bodies > 0 then
      index = index + 1
      if index > #bodies then
         index = 1
         wrapped = wrapped + 1
      end
      body = bodies[index]
   end
   local headers = nil
   if header_values and #header_values > 0 then
      header_index = header_index + 1
      if header_index > #header_values then
         header_index = 1
         wrapped = wrapped + 1
      end
      -- wrk.format uses the headers given instead of the -H ones, so copy those in.
      headers = {}
      for name, value in pairs(wrk.headers) do
         headers[name] = value
      end
      headers[header_name] = header_values[header_index]
   end
   return wrk.format(method, nil, headers, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   local wraps = 0
   for _, thread in ipairs(threads) do
      for status, n in pairs(thread:get("statuses")) do
         counts[status] = (counts[status] or 0) + n
      end
      wraps = wraps + thread:get("wrapped")
   end
   local parts = {}
   for status, n in pairs(counts) do
      table.insert(parts, string.format('"%d": %d', status, n))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "statuses": {%s}, "pool_wrapped": %d, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
      summary.requests, summary.duration, table.concat(parts, ", "), wraps,
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
