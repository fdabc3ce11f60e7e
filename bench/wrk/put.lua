-- PUT the raw bytes of BENCH_FILE (the baseline's upload).
local handle = assert(io.open(os.getenv("BENCH_FILE"), "rb"))
wrk.method = "PUT"
wrk.body = handle:read("*a")
handle:close()
