-- wrk script for benchmarks/http.py: GET requests, each from a candidate session of its own.
-- Arguments (after --): sessions file, number of wrk threads, path with {n} for the item number.
-- Sessions file: one candidate a line, tab-separated (see benchmarks/http.py, write_sessions):
--   id, cookie header, csrf token, csrf key, item to show, item to save, revision, answer 1, answer 2.
-- Each thread takes its own share of the sessions and cycles through them. Counts the replies by status
-- (200, 409, other) and prints them in done() as one "STATUS ok=... conflict=... other=..." line.

local threads = {}
local thread_count = 0

function setup(thread)
   thread:set("thread_index", thread_count)
   thread_count = thread_count + 1
   table.insert(threads, thread)
end

local function split(line)
   local fields = {}
   for field in string.gmatch(line, "[^\t]+") do
      table.insert(fields, field)
   end
   return fields
end

function init(args)
   local file, nthreads, path = args[1], tonumber(args[2]), args[3]
   requests = {}
   ok, conflict, other = 0, 0, 0
   local index = 0
   for line in io.lines(file) do
      if index % nthreads == thread_index then
         local f = split(line)
         local headers = { ["Cookie"] = f[2], ["X-Bench-Session"] = f[1] }
         table.insert(requests, wrk.format("GET", string.gsub(path, "{n}", f[5]), headers))
      end
      index = index + 1
   end
   cursor = 0
end

function request()
   cursor = cursor % #requests + 1
   return requests[cursor]
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
   elseif status == 409 then
      conflict = conflict + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local sum_ok, sum_conflict, sum_other = 0, 0, 0
   for _, thread in ipairs(threads) do
      sum_ok = sum_ok + thread:get("ok")
      sum_conflict = sum_conflict + thread:get("conflict")
      sum_other = sum_other + thread:get("other")
   end
   io.write(string.format("STATUS ok=%d conflict=%d other=%d unmatched=0\n", sum_ok, sum_conflict, sum_other))
end
