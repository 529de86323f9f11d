-- wrk script for benchmarks/http.py: autosave POSTs, each candidate session with its own revision counter.
-- Arguments (after --): sessions file, number of wrk threads, path to POST to.
-- Sessions file: as in http_get.lua. wrk gives the script no connection identity, so a session is
-- marked busy while its save is in flight and the reply names it: the CSRF token in the JSON reply
-- begins with the session's own key (flask-wtf signs the session's raw token; the reference echoes
-- the header). A 200 reply frees the session and sets its revision; a session whose save failed stays
-- busy, so a failure never turns into a cascade of stale revisions. Each thread has
-- more sessions than connections. Prints "STATUS ok=... conflict=... other=... unmatched=..." in done().

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
   local file, nthreads = args[1], tonumber(args[2])
   path = args[3]
   sessions = {}
   by_key = {}
   ok, conflict, other, unmatched = 0, 0, 0, 0
   local index = 0
   for line in io.lines(file) do
      if index % nthreads == thread_index then
         local f = split(line)
         local session = {
            headers = {
               ["Cookie"] = f[2],
               ["X-CSRFToken"] = f[3],
               ["X-Bench-Session"] = f[1],
               ["Content-Type"] = "application/json",
            },
            item = f[6],
            revision = tonumber(f[7]),
            answers = { f[8], f[9] },
            busy = false,
         }
         table.insert(sessions, session)
         by_key[f[4]] = session
      end
      index = index + 1
   end
   cursor = 0
end

function request()
   local session
   for _ = 1, #sessions do
      cursor = cursor % #sessions + 1
      session = sessions[cursor]
      if not session.busy then
         break
      end
   end
   session.busy = true
   local body = '{"item":' .. session.item .. ',"answer":' .. session.answers[session.revision % 2 + 1]
      .. ',"revision":' .. session.revision .. '}'
   return wrk.format("POST", path, session.headers, body)
end

function response(status, headers, body)
   if status == 200 then
      ok = ok + 1
      local key = string.match(body, '"csrf_token":%s*"([^".]+)')
      local revision = string.match(body, '"revision":%s*(%d+)')
      local session = key and by_key[key]
      if session and revision then
         session.revision = tonumber(revision)
         session.busy = false
      else
         unmatched = unmatched + 1
      end
   elseif status == 409 then
      conflict = conflict + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   local sum_ok, sum_conflict, sum_other, sum_unmatched = 0, 0, 0, 0
   for _, thread in ipairs(threads) do
      sum_ok = sum_ok + thread:get("ok")
      sum_conflict = sum_conflict + thread:get("conflict")
      sum_other = sum_other + thread:get("other")
      sum_unmatched = sum_unmatched + thread:get("unmatched")
   end
   io.write(string.format("STATUS ok=%d conflict=%d other=%d unmatched=%d\n", sum_ok, sum_conflict, sum_other,
      sum_unmatched))
end
