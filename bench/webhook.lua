-- wrk script for bench/webhook.sh: POST a small JSON body with the
-- webhook's secret as a bearer token (from the environment, WEBHOOK_SECRET),
-- count the responses by status (2xx, 503 with and without Retry-After,
-- others) over all of wrk's threads, and print one machine-readable line:
--   RESULT requests=N secs=S rps=R p50=MS p99=MS max=MS s2xx=N s503=N
--          s503ra=N other=N errors=N timeouts=N
-- (on one line; latencies in milliseconds). With IDS_FILE set, each thread
-- also writes the run_id of every 2xx answer that carries one to
-- IDS_FILE.N, one a line, so that each can be looked up afterwards.

wrk.method = "POST"
wrk.body = '{"ref":"refs/heads/main","after":"0123456789abcdef"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WEBHOOK_SECRET") or "")

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("tid", #threads)
end

function init(args)
	s2xx, s503, s503ra, other = 0, 0, 0, 0
	local f = os.getenv("IDS_FILE")
	if f ~= nil and f ~= "" then
		ids = io.open(f .. "." .. tid, "w")
	end
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		s2xx = s2xx + 1
		if ids ~= nil then
			local id = string.match(body, '"run_id":(%d+)')
			if id ~= nil then
				ids:write(id, "\n")
			end
			if s2xx % 256 == 0 then
				ids:flush()
			end
		end
	elseif status == 503 then
		s503 = s503 + 1
		if headers["Retry-After"] ~= nil then
			s503ra = s503ra + 1
		end
	else
		other = other + 1
	end
end

function done(summary, latency, requests)
	local t = { s2xx = 0, s503 = 0, s503ra = 0, other = 0 }
	for _, thread in ipairs(threads) do
		for k, _ in pairs(t) do
			t[k] = t[k] + thread:get(k)
		end
	end
	local e = summary.errors
	local secs = summary.duration / 1e6
	io.write(string.format("RESULT requests=%d secs=%.3f rps=%.1f " ..
	    "p50=%.3f p99=%.3f max=%.3f s2xx=%d s503=%d s503ra=%d other=%d " ..
	    "errors=%d timeouts=%d\n",
	    summary.requests, secs, summary.requests / secs,
	    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
	    latency.max / 1000, t.s2xx, t.s503, t.s503ra, t.other,
	    e.connect + e.read + e.write, e.timeout))
end
