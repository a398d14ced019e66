-- A parser of Prometheus' text exposition format 0.0.4, for the specs of
-- accelerate.metrics (spec/metrics_spec.lua, spec/metrics_ngx_spec.lua):
-- written from the format's description, not from the module, and strict
-- where Prometheus is: a line is a comment, HELP/TYPE or a sample; metric
-- and label names match their patterns; a label value has only the escapes
-- \\ \" \n; a value is a float (NaN, +Inf, -Inf included); HELP and TYPE
-- at most once per family and before its samples; a family's samples
-- together; no series twice; the text is UTF-8.  Lua 5.3+ (utf8.len).
local utf8 = require "utf8"

local exposition = {}

local METRIC_NAME = "^[a-zA-Z_:][a-zA-Z0-9_:]*$"
local LABEL_NAME = "^[a-zA-Z_][a-zA-Z0-9_]*$"
local TYPES = { counter = true, gauge = true, histogram = true, summary = true, untyped = true }
local UNESCAPE = { ["\\"] = "\\", ['"'] = '"', n = "\n" }

local function float(s)
  if s == "NaN" then return 0 / 0 end
  if s == "+Inf" or s == "Inf" then return math.huge end
  if s == "-Inf" then return -math.huge end
  if not s:match("^[-+]?[%d.]+[eE]?[-+]?%d*$") then return nil end
  return tonumber(s)
end

-- The labels of a sample from `pos` (just after "{"): a table, and the
-- position after "}".
local function labels_at(line, pos, where)
  local labels = {}
  while true do
    if line:sub(pos, pos) == "}" then return labels, pos + 1 end
    local name, npos = line:match("^([^=]*)=\"()", pos)
    assert(name and name:match(LABEL_NAME) and name:sub(1, 2) ~= "__", where .. ": bad label name at " .. pos)
    assert(labels[name] == nil, where .. ": label " .. name .. " twice")
    local out = {}
    pos = npos
    while true do
      local c = line:sub(pos, pos)
      assert(c ~= "", where .. ": unterminated label value")
      if c == '"' then break end
      if c == "\\" then
        local e = UNESCAPE[line:sub(pos + 1, pos + 1)]
        assert(e, where .. ": bad escape \\" .. line:sub(pos + 1, pos + 1))
        out[#out + 1] = e
        pos = pos + 2
      else
        out[#out + 1] = c
        pos = pos + 1
      end
    end
    labels[name] = table.concat(out)
    pos = pos + 1
    local sep = line:sub(pos, pos)
    if sep == "," then pos = pos + 1
    else assert(sep == "}", where .. ": expected , or } at " .. pos) end
  end
end

-- syntax: fams, samples = parse(text)
-- fams[name] = {type, help, samples = {...}}; samples in order, each
-- {name, labels, value}.  Raises on anything Prometheus would refuse.
function exposition.parse(text)
  assert(type(text) == "string" and text:sub(-1) == "\n", "the text ends with a newline")
  assert(utf8.len(text), "the text is UTF-8")
  local fams, samples, seen, order, current = {}, {}, {}, {}, nil
  local function fam(name)
    local f = fams[name]
    if not f then
      f = { samples = {} }
      fams[name] = f
      order[#order + 1] = name
    end
    return f
  end
  local n = 0
  for line in text:gmatch("([^\n]*)\n") do
    n = n + 1
    local where = "line " .. n .. " (" .. line .. ")"
    if line:sub(1, 1) == "#" then
      local kw, name, rest = line:match("^#%s+(%u+)%s+(%S+)%s?(.*)$")
      if kw == "HELP" or kw == "TYPE" then
        assert(name:match(METRIC_NAME), where .. ": bad metric name")
        local f = fam(name)
        assert(f[kw:lower()] == nil, where .. ": " .. kw .. " twice for " .. name)
        assert(#f.samples == 0, where .. ": " .. kw .. " after the samples of " .. name)
        if kw == "TYPE" then
          assert(TYPES[rest], where .. ": unknown type")
          f.type = rest
        else
          assert(not rest:gsub("\\[\\n]", ""):find("\\", 1, true), where .. ": bad escape in HELP")
          f.help = rest
        end
      end
    elseif line ~= "" then   -- an empty line is ignored, as the format says
      local name, pos = line:match("^([^%s{]+)()")
      assert(name and name:match(METRIC_NAME), where .. ": bad metric name")
      local labels = {}
      if line:sub(pos, pos) == "{" then labels, pos = labels_at(line, pos + 1, where) end
      local value, stamp = line:sub(pos):match("^ (%S+) ?(%-?%d*)$")
      assert(value, where .. ": no value")
      local v = float(value)
      assert(v ~= nil, where .. ": value " .. value .. " is not a float")
      local keys = {}
      for k, lv in pairs(labels) do keys[#keys + 1] = k .. "=" .. lv end
      table.sort(keys)
      local id = name .. "{" .. table.concat(keys, "\0") .. "}"
      assert(not seen[id], where .. ": series twice")
      seen[id] = true
      assert(stamp == "" or tonumber(stamp), where .. ": bad timestamp")
      local f = fam(name)
      assert(current == name or #f.samples == 0, where .. ": the samples of " .. name .. " are not together")
      current = name
      local s = { name = name, labels = labels, value = v }
      f.samples[#f.samples + 1] = s
      samples[#samples + 1] = s
    end
  end
  return fams, samples, order
end

-- The value of the one sample of `name` whose labels include `want`.
function exposition.value_of(samples, name, want)
  local found
  for _, s in ipairs(samples) do
    local match = s.name == name
    for k, v in pairs(want or {}) do match = match and s.labels[k] == v end
    if match then
      assert(found == nil, "two samples match " .. name)
      found = s.value
    end
  end
  return found
end

return exposition
