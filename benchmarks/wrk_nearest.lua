-- wrk script for benchmarks/bench_http.py.
--
--   wrk -t1 -c4 -d5s --latency -s benchmarks/wrk_nearest.lua http://127.0.0.1:PORT -- MODE SEED
--
-- MODE "nearest": every request asks /api/v1/nearest?lat=..&lon=..&k=5 for a fresh
--   pseudo-random point: 80 % within 2 km (uniform over the disc) of one of the 11 city
--   centres (research/data.md section 4.2), 20 % uniform over Hebei's bbox
--   (lon 113.5-119.8, lat 36.1-42.5).
-- MODE "healthz": the same random draws and string building per request (so wrk spends the
--   same effort on both), but the request is a plain GET /healthz.
-- SEED: integer seed of the generator (default 1).
--
-- done() prints one line "WRKJSON {...}" with the raw counts and latency percentiles (µs).

local CENTRES = {  -- lat, lon (WGS-84)
  {38.0428, 114.5149},  -- 石家庄
  {39.6305, 118.1802},  -- 唐山
  {39.9354, 119.6005},  -- 秦皇岛
  {36.6256, 114.5391},  -- 邯郸
  {37.0706, 114.5044},  -- 邢台
  {38.8739, 115.4646},  -- 保定
  {40.8244, 114.8875},  -- 张家口
  {40.9515, 117.9634},  -- 承德
  {38.3045, 116.8388},  -- 沧州
  {39.5380, 116.6838},  -- 廊坊
  {37.7390, 115.6709},  -- 衡水
}
local N_CENTRES = #CENTRES
local RADIUS_M = 2000.0
local M_PER_DEG = 111320.0
local LON0, LON1, LAT0, LAT1 = 113.5, 119.8, 36.1, 42.5

local random, sqrt, sin, cos, pi = math.random, math.sqrt, math.sin, math.cos, math.pi
local format = string.format

local mode = "nearest"

local function point()
  if random() < 0.8 then
    local c = CENTRES[random(N_CENTRES)]
    local r = RADIUS_M * sqrt(random())
    local t = 2 * pi * random()
    local lat = c[1] + r * cos(t) / M_PER_DEG
    local lon = c[2] + r * sin(t) / (M_PER_DEG * cos(c[1] * pi / 180))
    return lat, lon
  end
  return LAT0 + (LAT1 - LAT0) * random(), LON0 + (LON1 - LON0) * random()
end

function init(args)
  mode = args[1] or "nearest"
  if mode ~= "nearest" and mode ~= "healthz" then
    error("mode must be nearest or healthz, got " .. tostring(mode))
  end
  math.randomseed(tonumber(args[2] or "1"))
end

function request()
  local lat, lon = point()
  local path = format("/api/v1/nearest?lat=%.6f&lon=%.6f&k=5", lat, lon)
  if mode == "healthz" then
    path = "/healthz"
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local e = summary.errors
  local pct = {}
  for _, p in ipairs({50, 90, 99, 99.9}) do
    pct[#pct + 1] = format('"%s":%d', tostring(p), latency:percentile(p))
  end
  io.write(format(
    'WRKJSON {"mode":"%s","duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"max":%d,"stdev":%.1f,"percentiles":{%s}}}\n',
    mode, summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev, table.concat(pct, ",")))
end
