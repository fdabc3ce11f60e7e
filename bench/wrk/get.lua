-- GET with a bearer key (BENCH_KEY); with BENCH_PATHS (a file of paths, one a line) the
-- requests cycle through those paths.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
local paths = {}
local list = os.getenv("BENCH_PATHS")
if list then
  for line in io.lines(list) do
    if #line > 0 then paths[#paths + 1] = line end
  end
end
local counter = 0
request = function()
  if #paths == 0 then return wrk.format(nil) end
  counter = counter + 1
  return wrk.format(nil, paths[(counter % #paths) + 1])
end
