-- POST a multipart upload of one file (BENCH_FILE) with a bearer key (BENCH_KEY).
local boundary = "kvbenchboundary7MA4YWxkTrZu0gW"
local function read(path)
  local handle = assert(io.open(path, "rb"))
  local data = handle:read("*a")
  handle:close()
  return data
end
local content = read(os.getenv("BENCH_FILE"))
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
wrk.headers["Content-Type"] = "multipart/form-data; boundary=" .. boundary
wrk.body = "--" .. boundary .. "\r\n"
  .. 'Content-Disposition: form-data; name="type"\r\n\r\nbank_statement\r\n'
  .. "--" .. boundary .. "\r\n"
  .. 'Content-Disposition: form-data; name="file"; filename="statement.pdf"\r\n'
  .. "Content-Type: application/pdf\r\n\r\n"
  .. content .. "\r\n--" .. boundary .. "--\r\n"
