-- accelerate.plans: finding a plan by what a person calls it.  The plan
-- calls themselves (list_plans, plans, plan_detail) are the client's; this
-- is the matching a user expects on top of them: an exact id, else an
-- exact name, else an exact display name, and near names on a typo.
local type, ipairs, tostring, error = type, ipairs, tostring, error
local min, floor = math.min, math.floor
local concat, sort = table.concat, table.sort
local byte, lower, find = string.byte, string.lower, string.find

local _M = {}

local NEAR_MAX = 5 -- near names listed on a miss

-- Levenshtein distance on bytes, case-insensitive; plan names are short.
local function distance(a, b)
  a, b = lower(a), lower(b)
  local la, lb = #a, #b
  if la == 0 then return lb end
  if lb == 0 then return la end
  local prev, cur = {}, {}
  for j = 0, lb do prev[j] = j end
  for i = 1, la do
    cur[0] = i
    local ca = byte(a, i)
    for j = 1, lb do
      local cost = (ca == byte(b, j)) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[lb]
end
_M.distance = distance

-- Up to n names near `name`, nearest first: within a third of its length
-- (at least 2 edits), or containing it.
function _M.near(names, name, n)
  local limit = floor(#name / 3)
  if limit < 2 then limit = 2 end
  local scored, seen = {}, {}
  for _, cand in ipairs(names) do
    if type(cand) == "string" and not seen[cand] then
      seen[cand] = true
      local d = distance(cand, name)
      if d <= limit or find(lower(cand), lower(name), 1, true) then
        scored[#scored + 1] = { name = cand, d = d }
      end
    end
  end
  sort(scored, function(x, y)
    if x.d ~= y.d then return x.d < y.d end
    return x.name < y.name
  end)
  local out = {}
  for i = 1, min(n or NEAR_MAX, #scored) do out[i] = scored[i].name end
  return out
end

local function quote_list(list)
  local q = {}
  for i, v in ipairs(list) do q[i] = "'" .. tostring(v) .. "'" end
  return concat(q, ", ")
end

-- syntax: id, err = plans.resolve(list, key, new_error)
-- list: every plan {id, name, displayName}.  The id of the one plan that
-- key names, or nil and an `invalid` error that says why.
function _M.resolve(list, key, new_error)
  for _, p in ipairs(list) do
    if p.id == key then return p.id end
  end
  for _, field in ipairs { "name", "displayName" } do
    local hits = {}
    for _, p in ipairs(list) do
      if p[field] == key then hits[#hits + 1] = p end
    end
    if #hits == 1 then return hits[1].id end
    if #hits > 1 then
      local ids = {}
      for i, p in ipairs(hits) do ids[i] = p.id end
      return nil, new_error("invalid", ("%d plans have the %s '%s': give one of their ids: %s"):format(
        #hits, field == "name" and "name" or "display name", key, concat(ids, ", ")))
    end
  end
  local names = {}
  for _, p in ipairs(list) do
    names[#names + 1] = p.name
    names[#names + 1] = p.displayName
  end
  local near = _M.near(names, key, NEAR_MAX)
  local msg = ("no plan named '%s'"):format(key)
  if #near > 0 then msg = msg .. "; did you mean " .. quote_list(near) .. "?" end
  return nil, new_error("invalid", msg)
end

-- Checks what find_plan is given, before anything is sent.
function _M.check_key(key, new_error)
  if type(key) ~= "string" then
    error("bad argument #1 to 'find_plan' (string expected, got " .. type(key) .. ")", 3)
  end
  if key == "" or #key > 256 or find(key, "[%z\1-\31\127]") then
    return nil, new_error("invalid", "find_plan: a plan name or id must be 1-256 printable characters")
  end
  return true
end

return _M
